import { HOP_BY_HOP_HEADERS } from "./header-names.ts";
/**
 * Which of a receiver's response headers inline mode (`Prefer: wait`) passes on to the caller. The
 * answer comes from hookd's origin, not the receiver's, so what would act on hookd's origin or on the
 * connection stays behind:
 * - hop-by-hop and framing headers (RFC 9110 §7.6.1) and Content-Length: hookd's own answer frames itself;
 * - Content-Encoding: the journal keeps the body as text, so it is no longer encoded;
 * - Set-Cookie, WWW-Authenticate, Strict-Transport-Security, Alt-Svc, Access-Control-*,
 *   Content-Security-Policy, Clear-Site-Data: they would set cookies, prompts, transport or CORS
 *   policy for hookd's origin;
 * - a relative Location: it would point into hookd (an absolute one passes);
 * - Preference-Applied, Vary, Idempotent-Replayed and Hookd-*: hookd sets its own.
 * Everything else (Content-Type, Cache-Control, ETag, Retry-After, the receiver's X-… headers) passes.
 */

const NOT_PASSED = new Set([
  ...HOP_BY_HOP_HEADERS,
  "content-length",
  "content-encoding",
  "set-cookie",
  "www-authenticate",
  "strict-transport-security",
  "alt-svc",
  "content-security-policy",
  "clear-site-data",
  "preference-applied",
  "vary",
  "idempotent-replayed",
]);
const NOT_PASSED_PREFIX = /^(?:proxy-|hookd-|access-control-)/;
const ABSOLUTE_URL = /^[a-z][a-z0-9+.-]*:\/\//i;

export function passedResponseHeaders(headers: Readonly<Record<string, string>>): Record<string, string> {
  const connection = headers["connection"] ?? "";
  const named = new Set(connection.split(",").map((name) => name.trim().toLowerCase()).filter(Boolean));
  const passed: Record<string, string> = {};
  for (const [raw, value] of Object.entries(headers)) {
    const name = raw.toLowerCase();
    if (NOT_PASSED.has(name) || NOT_PASSED_PREFIX.test(name) || named.has(name)) continue;
    if (name === "location" && !ABSOLUTE_URL.test(value)) continue;
    passed[name] = value;
  }
  return passed;
}
