import { HOP_BY_HOP_HEADERS } from "./header-names.ts";
/**
 * Which of a proxy-form request's headers go on to the target. hookd is not a transparent proxy:
 * it stores the request and makes it again later (retried, signed), so only headers that describe
 * the message travel: its content headers, Accept*, the caller's own (X-Tenant, …). What describes
 * the call to hookd stays behind:
 * - hop-by-hop and framing headers (RFC 9110 §7.6.1, and those the Connection header names), Host,
 *   Content-Length, Expect: they belong to the connection, and hookd's own request sets its own;
 * - what hookd reads: Authorization and Cookie (hookd's token, never the receiver's), Idempotency-Key,
 *   Hookd-*, X-Hookbot-Unsafe-Is-Ok;
 * - the route to hookd: Forwarded, Via, X-Forwarded-*, X-Real-IP (the caller's address and hookd's
 *   proxies, which the receiver has no business knowing), traceparent/tracestate (the trace of this
 *   call; a retry with the same Idempotency-Key would otherwise differ from its first request);
 * - the browser's context of the call: Origin, Referer, Sec-*;
 * - hookd's own request: User-Agent (hookd makes the request), Accept-Encoding (hookd reads the
 *   response, not the caller), webhook-* (hookd's signature; a caller's would be a forgery).
 */

const NOT_FORWARDED = new Set([
  ...HOP_BY_HOP_HEADERS,
  "host",
  "content-length",
  "expect",
  "authorization",
  "cookie",
  "idempotency-key",
  "x-hookbot-unsafe-is-ok",
  "forwarded",
  "via",
  "x-real-ip",
  "traceparent",
  "tracestate",
  "origin",
  "referer",
  "user-agent",
  "accept-encoding",
]);
const NOT_FORWARDED_PREFIX = /^(?:proxy-|hookd-|webhook-|x-forwarded-|sec-)/;

/** The headers to store with the delivery, lowercased, from the request's (already lowercased by Headers). */
export function forwardedHeaders(headers: Iterable<[string, string]>): Record<string, string> {
  const all = [...headers].map(([name, value]) => [name.toLowerCase(), value] as const);
  const connection = all.find(([name]) => name === "connection")?.[1] ?? "";
  const named = new Set(connection.split(",").map((name) => name.trim().toLowerCase()).filter(Boolean));
  const kept: Record<string, string> = {};
  for (const [name, value] of all) {
    if (NOT_FORWARDED.has(name) || NOT_FORWARDED_PREFIX.test(name) || named.has(name)) continue;
    kept[name] = value;
  }
  return kept;
}
