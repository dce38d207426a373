import type { MiddlewareHandler } from "hono";

/**
 * A strict Content Security Policy on every console response: scripts and styles only from hookd
 * itself (no inline script, no inline event handler, no eval), nothing framed, forms posting only
 * back here. htmx runs under it because its config (a meta tag, not a script) turns eval off.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join("; ");

export const securityHeaders: MiddlewareHandler = async (c, next) => {
  await next();
  c.res.headers.set("content-security-policy", CONSOLE_CSP);
  c.res.headers.set("x-content-type-options", "nosniff");
  c.res.headers.set("referrer-policy", "same-origin");
  c.res.headers.set("x-frame-options", "DENY");
  if (!c.res.headers.has("cache-control")) c.res.headers.set("cache-control", "no-store");
};
