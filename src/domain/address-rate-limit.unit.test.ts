import { describe, expect, it } from "vitest";
import { AddressRateLimit, NETWORK_SHARE, parseRate } from "./address-rate-limit.ts";
import { parseDuration } from "./duration.ts";

describe("the per-address rate limit", () => {
  it("lets `count` through, then refuses with the time until the next one, per address", () => {
    const limit = new AddressRateLimit({ count: 3, perMs: 3_000 });
    for (let i = 0; i < 3; i++) expect(limit.take("a", 0)).toEqual({ allowed: true });
    expect(limit.take("a", 0)).toEqual({ allowed: false, retryAfterMs: 1_000 });
    expect(limit.take("b", 0)).toEqual({ allowed: true });
    expect(limit.take("a", 999)).toMatchObject({ allowed: false });
    expect(limit.take("a", 1_000)).toEqual({ allowed: true });
    expect(limit.take("a", 1_000)).toMatchObject({ allowed: false });
  });

  it("counts an IPv6 client by its /64, and an IPv4-mapped address as its IPv4 address", () => {
    const limit = new AddressRateLimit({ count: 2, perMs: 60_000 });
    // One host's privacy addresses, or a flood from a /64 it holds: one bucket, not one per address.
    expect(limit.take("2001:db8:1:2::1", 0)).toEqual({ allowed: true });
    expect(limit.take("2001:db8:1:2:aaaa:bbbb:cccc:dddd", 0)).toEqual({ allowed: true });
    expect(limit.take("2001:0db8:0001:0002::ffff", 0)).toMatchObject({ allowed: false });
    // The next /64 is another client.
    expect(limit.take("2001:db8:1:3::1", 0)).toEqual({ allowed: true });
    // A dual-stack socket shows an IPv4 peer as ::ffff:a.b.c.d: that is the IPv4 client, not the /64 ::ffff:0:0 lies in.
    expect(limit.take("::ffff:192.0.2.1", 0)).toEqual({ allowed: true });
    expect(limit.take("192.0.2.1", 0)).toEqual({ allowed: true });
    expect(limit.take("::ffff:192.0.2.1", 0)).toMatchObject({ allowed: false });
    expect(limit.take("::ffff:192.0.2.2", 0)).toEqual({ allowed: true });
    // What is no address at all keeps its own bucket.
    expect(limit.take("unknown", 0)).toEqual({ allowed: true });
  });

  it("holds a /48's many /64s to one more bucket, of NETWORK_SHARE clients' worth", () => {
    const limit = new AddressRateLimit({ count: 2, perMs: 60_000 });
    // Who holds a /48 (65,536 /64s) must not get a fresh bucket per /64.
    let allowed = 0;
    for (let subnet = 0; subnet < 200; subnet++) {
      for (let i = 0; i < 2; i++) if (limit.take(`2001:db8:7:${subnet.toString(16)}::${i + 1}`, 0).allowed) allowed++;
    }
    expect(allowed).toBe(2 * NETWORK_SHARE);
    // It refills at the same pace, so a waiting client gets its turn again.
    expect(limit.take("2001:db8:7:ff::1", 30_000 / NETWORK_SHARE)).toEqual({ allowed: true });
    // Another /48 is another network.
    expect(limit.take("2001:db8:8:1::1", 0)).toEqual({ allowed: true });
    // IPv4 clients have no network bucket.
    for (let host = 1; host <= 3 * NETWORK_SHARE; host++) expect(limit.take(`192.0.2.${host}`, 0).allowed).toBe(true);
  });

  it("reads rates as count/window", () => {
    expect(parseRate("60/1m", parseDuration)).toEqual({ count: 60, perMs: 60_000 });
    expect(parseRate("5/s", parseDuration)).toEqual({ count: 5, perMs: 1_000 });
    expect(() => parseRate("fast", parseDuration)).toThrow(/60\/1m/);
    expect(() => parseRate("0/1m", parseDuration)).toThrow(/at least 1/);
  });
});
