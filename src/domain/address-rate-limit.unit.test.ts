import { describe, expect, it } from "vitest";
import { AddressRateLimit, parseRate } from "./address-rate-limit.ts";
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

  it("reads rates as count/window", () => {
    expect(parseRate("60/1m", parseDuration)).toEqual({ count: 60, perMs: 60_000 });
    expect(parseRate("5/s", parseDuration)).toEqual({ count: 5, perMs: 1_000 });
    expect(() => parseRate("fast", parseDuration)).toThrow(/60\/1m/);
    expect(() => parseRate("0/1m", parseDuration)).toThrow(/at least 1/);
  });
});
