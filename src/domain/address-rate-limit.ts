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
 * The buckets an address draws on. An IPv6 host usually holds a whole /64 (SLAAC and privacy
 * addresses, a provider's allocation), so a bucket per IPv6 address would give it a fresh bucket for
 * every request: an IPv6 address counts as its /64, and its /48 (a site's usual allocation, 65,536
 * /64s) has one more bucket that all of them share. An IPv4-mapped address (::ffff:a.b.c.d, how a
 * dual-stack socket shows an IPv4 peer) is its IPv4 address. Anything else counts as itself.
 */
export function bucketsOf(address: string): { client: string; network: string | null } {
  const ip = parseIp(address);
  if (!ip) return { client: address, network: null };
  if (ip.kind() === "ipv4") return { client: ip.toString(), network: null };
  const v6 = ip as ipaddr.IPv6;
  if (v6.isIPv4MappedAddress()) return { client: v6.toIPv4Address().toString(), network: null };
  return { client: prefixOf(v6, 4), network: prefixOf(v6, 3) };
}

function prefixOf(v6: ipaddr.IPv6, groups: number): string {
  return `${v6.parts.slice(0, groups).map((part) => part.toString(16)).join(":")}::/${groups * 16}`;
}

/** A /48's bucket holds this many clients' worth: a site with several hosts is not held to one's rate. */
export const NETWORK_SHARE = 16;

export class AddressRateLimit {
  readonly #buckets = new Map<string, Bucket>();
  /** Bounds memory under a flood from many addresses: the longest-unseen bucket goes first (refilled by then, mostly). */
  static readonly MAX_ADDRESSES = 10_000;

  constructor(readonly rate: Rate) {}

  /** Allowed when the client's bucket and, for IPv6, its /48's have a token each; both are spent then. */
  take(peer: string, now: number): Take {
    const { client: clientKey, network } = bucketsOf(peer);
    const client = this.#refill(clientKey, this.rate.count, now);
    const shared = network === null ? null : this.#refill(network, this.rate.count * NETWORK_SHARE, now);
    const allowed = client.tokens >= 1 && (shared === null || shared.tokens >= 1);
    const spend = allowed ? 1 : 0;
    this.#store(client.key, client.tokens - spend, now);
    if (shared) this.#store(shared.key, shared.tokens - spend, now);
    if (allowed) return { allowed: true };
    const perMs = this.rate.count / this.rate.perMs;
    const short = Math.max(1 - client.tokens, shared ? (1 - shared.tokens) / NETWORK_SHARE : 0);
    return { allowed: false, retryAfterMs: Math.ceil(short / perMs) };
  }

  #refill(key: string, capacity: number, now: number): { key: string; tokens: number } {
    // A bucket refills in the rate's window, whatever it holds.
    const perMs = capacity / this.rate.perMs;
    const bucket = this.#buckets.get(key) ?? { tokens: capacity, at: now };
    return { key, tokens: Math.min(capacity, bucket.tokens + Math.max(0, now - bucket.at) * perMs) };
  }

  #store(key: string, tokens: number, now: number): void {
    // Re-inserted on every call, so the map's order is least recently seen first.
    this.#buckets.delete(key);
    if (this.#buckets.size >= AddressRateLimit.MAX_ADDRESSES) this.#buckets.delete(this.#buckets.keys().next().value!);
    this.#buckets.set(key, { tokens, at: now });
  }
}
