import type ipaddr from "ipaddr.js";
import { parseIp } from "./ip-verdict.ts";

/**
 * A token bucket per client address, in this instance's memory: `count` requests per `perMs`,
 * refilled continuously, a full bucket to start. It guards POST /verify, which anyone may call:
 * without it, /verify is a free oracle for guessing a short body and a free way to make hookd read
 * its journal. Per instance, not shared through NATS: the limit is a brake, not a quota, and a check
 * that needed a NATS round trip would cost what it protects.
 */

export type Rate = { count: number; perMs: number };

export type Take = { allowed: true } | { allowed: false; retryAfterMs: number };

type Bucket = { tokens: number; at: number };

/** Parses "60/1m" (60 per minute), "5/s", "100/10s"; `parseDuration` reads the window. */
export function parseRate(text: string, parseDuration: (text: string) => number): Rate {
  const match = /^\s*(\d+)\s*\/\s*(\S+)\s*$/.exec(text);
  if (!match) throw new Error(`"${text}" is not a rate such as 60/1m (requests per window), or off`);
  const window = /^[a-z]+$/.test(match[2]!) ? `1${match[2]}` : match[2]!;
  const rate = { count: Number(match[1]), perMs: parseDuration(window) };
  if (rate.count < 1 || rate.perMs < 1) throw new Error(`"${text}" must allow at least 1 request in a window over 0`);
  return rate;
}

/**
 * The client an address counts as. An IPv6 host usually holds a whole /64 (SLAAC and privacy
 * addresses, a provider's allocation), so a bucket per IPv6 address would give it a fresh bucket for
 * every request: an IPv6 address counts as its /64. An IPv4-mapped address (::ffff:a.b.c.d, how a
 * dual-stack socket shows an IPv4 peer) is its IPv4 address. Anything else counts as itself.
 */
export function clientOf(address: string): string {
  const ip = parseIp(address);
  if (!ip) return address;
  if (ip.kind() === "ipv4") return ip.toString();
  const v6 = ip as ipaddr.IPv6;
  if (v6.isIPv4MappedAddress()) return v6.toIPv4Address().toString();
  return `${v6.parts.slice(0, 4).map((part) => part.toString(16)).join(":")}::/64`;
}

export class AddressRateLimit {
  readonly #buckets = new Map<string, Bucket>();
  /** Bounds memory under a flood from many addresses: the longest-unseen bucket goes first (refilled by then, mostly). */
  static readonly MAX_ADDRESSES = 10_000;

  constructor(readonly rate: Rate) {}

  take(peer: string, now: number): Take {
    const address = clientOf(peer);
    const perMs = this.rate.count / this.rate.perMs;
    const bucket = this.#buckets.get(address) ?? { tokens: this.rate.count, at: now };
    const tokens = Math.min(this.rate.count, bucket.tokens + Math.max(0, now - bucket.at) * perMs);
    // Re-inserted on every call, so the map's order is least recently seen first.
    this.#buckets.delete(address);
    if (this.#buckets.size >= AddressRateLimit.MAX_ADDRESSES) this.#buckets.delete(this.#buckets.keys().next().value!);
    if (tokens >= 1) {
      this.#buckets.set(address, { tokens: tokens - 1, at: now });
      return { allowed: true };
    }
    this.#buckets.set(address, { tokens, at: now });
    return { allowed: false, retryAfterMs: Math.ceil((1 - tokens) / perMs) };
  }
}
