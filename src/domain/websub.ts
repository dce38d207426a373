import { toBase64Url, utf8 } from "./bytes.ts";

/**
 * WebSub (W3C Recommendation) rules that don't touch the network: how a topic URL maps to a hookd
 * topic, how the verification URL is built, and the lease bounds.
 */

export const DEFAULT_LEASE_SECONDS = 10 * 86_400;
export const MAX_LEASE_SECONDS = 30 * 86_400;
export const MIN_LEASE_SECONDS = 1;
export const MAX_SECRET_BYTES = 199;

/** A WebSub topic is a URL; in hookd it lives under websub/ as one reversible segment. */
export function hookdTopicFor(topicUrl: string): string {
  return `websub/${toBase64Url(utf8(topicUrl))}`;
}

export function boundLease(requested: number | undefined): number {
  if (requested === undefined || !Number.isFinite(requested)) return DEFAULT_LEASE_SECONDS;
  return Math.min(Math.max(Math.floor(requested), MIN_LEASE_SECONDS), MAX_LEASE_SECONDS);
}

/** The callback URL with the verification parameters appended to any query it already has (§5.3). */
export function verificationUrl(
  callback: string,
  params: { mode: string; topic: string; challenge: string; leaseSeconds?: number },
): string {
  const query = new URLSearchParams({
    "hub.mode": params.mode,
    "hub.topic": params.topic,
    "hub.challenge": params.challenge,
  });
  if (params.leaseSeconds !== undefined) query.set("hub.lease_seconds", String(params.leaseSeconds));
  const url = new URL(callback);
  return `${url.origin}${url.pathname}${url.search ? `${url.search}&` : "?"}${query.toString()}${url.hash}`;
}
