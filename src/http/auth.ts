import type { Context, MiddlewareHandler } from "hono";
import type { TokenChecker, TokenVerdict } from "../domain/token-check.ts";
import { problemResponse } from "./problem.ts";
import { isProxyPath, proxyPathOf } from "../domain/proxy-target.ts";
import { toBase64Url, utf8 } from "../domain/bytes.ts";

/**
 * Hookbot-style capability tokens on every route but /healthz and the OpenAPI document: the token for a path (or for a
 * "/"-ending ancestor of it) sent as the Basic user name, the Basic password, or a Bearer token.
 */

// /verify is called by receivers, who hold no token (verify-routes.ts).
const OPEN_PATHS = new Set(["/healthz", "/api/v1/openapi.json", "/status", "/verify"]);

/**
 * The path whose token a request needs, or null for open routes. Reading a topic needs the token
 * for /sub/<topic> whatever the transport, so one token serves SSE, WebSocket and /stream alike.
 * Hookbot's /unsafe/pub/ takes anything without a token (its topics live apart from the safe ones).
 */
export function authScope(url: URL): string | null {
  const path = url.pathname;
  if (OPEN_PATHS.has(path) || path.startsWith("/unsafe/pub/")) return null;
  // The console signs its users in with a cookie and checks it itself (src/console/session.ts).
  if (path === "/console" || path.startsWith("/console/")) return null;
  if (path.startsWith("/sse/")) return "/sub/" + path.slice("/sse/".length);
  if (path === "/stream") {
    const topic = url.searchParams.get("topic");
    if (topic) return "/sub/" + topic.split("/").map(encodePathSegment).join("/");
  }
  return path;
}

const encoder = new TextEncoder();
// What a URL path percent-encodes (controls, space, " # < > ? ` { } and non-ASCII), plus "%" and "\",
// since the topic is already decoded; and no "."/".." resolution, unlike new URL().
// deno-lint-ignore no-control-regex -- control characters are exactly what a path must escape
const PATH_ESCAPED = /[\u0000-\u0020"#<>?`{}%\\\u007f-\uffff]/;

/** A topic segment as a client writes it in a /sub/ path, so one token serves /sub/ and /stream alike. */
function encodePathSegment(segment: string): string {
  let out = "";
  for (const char of segment) {
    if (!PATH_ESCAPED.test(char)) out += char;
    else for (const byte of encoder.encode(char)) out += "%" + byte.toString(16).toUpperCase().padStart(2, "0");
  }
  return out;
}

/**
 * The token a request carries: Authorization (Basic or Bearer), or `?token=` on a stream GET, since
 * a browser's EventSource and WebSocket cannot set headers there. Nowhere else: a token in a URL
 * ends up in proxy and access logs, and every other route can be called with a header.
 */
export function requestToken(c: Context, url = new URL(c.req.url)): string | null {
  return tokenFromAuthorization(c.req.header("authorization")) ??
    (takesQueryToken(c.req.method, url) ? url.searchParams.get(QUERY_TOKEN) : null);
}

/** The query parameter that carries a token on stream routes. */
export const QUERY_TOKEN = "token";

const STREAM_PREFIXES = ["/sub/", "/sse/", "/unsafe/sub/"];

/** The routes a browser reads with EventSource or WebSocket: the only ones `?token=` authenticates. */
export function isStreamPath(path: string): boolean {
  return path === "/stream" || STREAM_PREFIXES.some((prefix) => path.startsWith(prefix));
}

function takesQueryToken(method: string, url: URL): boolean {
  return method === "GET" && isStreamPath(url.pathname);
}

const TOKEN_SHAPE = /^(?:[0-9a-f]{40}|hkd1\.[A-Za-z0-9_.-]+)$/i;

export function tokenFromAuthorization(header: string | undefined): string | null {
  if (!header) return null;
  const [scheme, value] = header.split(/\s+/, 2);
  if (!scheme || !value) return null;
  if (/^bearer$/i.test(scheme)) return value;
  if (/^basic$/i.test(scheme)) {
    try {
      const decoded = atob(value);
      const colon = decoded.indexOf(":");
      const user = colon < 0 ? decoded : decoded.slice(0, colon);
      const password = colon < 0 ? "" : decoded.slice(colon + 1);
      // Hookbot puts the token in the user name; some clients insist on a user, so a token-shaped password wins over any other user.
      if (TOKEN_SHAPE.test(password) && !TOKEN_SHAPE.test(user)) return password;
      return user || password || null;
    } catch {
      return null;
    }
  }
  return null;
}

export function requireToken(tokens: TokenChecker): MiddlewareHandler {
  return async (c, next) => {
    const url = new URL(c.req.url);
    const path = authScope(url);
    if (path === null) return next();
    // The proxy form's query string is the receiver's own (its ?token= too), never read as hookd's.
    if (url.searchParams.has(QUERY_TOKEN) && !isStreamPath(url.pathname) && !isProxyPath(url.pathname)) {
      return queryTokenRefused(c);
    }
    const token = requestToken(c, url);
    const verdict: TokenVerdict = token ? await tokens.check(path, token) : "denied";
    if (verdict === "granted") {
      for (const { parameter, scope } of reportScopes(url)) {
        if (await tokens.check(scope, token!) !== "granted") return reportRefused(c, parameter, scope);
      }
      return next();
    }
    return problemResponse(c, {
      status: 401,
      kind: verdict === "denied" ? "unauthorized" : `token-${verdict}`,
      title: TITLES[verdict],
      detail: refusalDetail(verdict, path, token !== null),
      headers: { "www-authenticate": 'Basic realm="hookd"' },
    });
  };
}

/**
 * The forms whose path names their one target (the proxy form, /dispatch/<target>) scope a token to
 * that target; a report URL (`_callback`, `_errback`) is a target too, so the token must grant it as
 * well, named as the form names a target: `/example.com/report` (or `/dispatch/<base64url(URL)>` for
 * a URL the proxy form cannot name). Otherwise a token for `/example.com/` could have hookd POST
 * anywhere. /dispatch?_url= and the JSON API already send anywhere their token grants.
 */
export function reportScopes(url: URL): { parameter: string; scope: string }[] {
  const proxy = isProxyPath(url.pathname);
  if (!proxy && !url.pathname.startsWith("/dispatch/")) return [];
  const scopes: { parameter: string; scope: string }[] = [];
  for (const parameter of ["_callback", "_errback"]) {
    for (const given of url.searchParams.getAll(parameter)) {
      const parsed = URL.canParse(given) ? new URL(given) : null;
      // Not an http(s) URL: the route refuses it with a 400 naming the parameter.
      if (parsed?.protocol !== "http:" && parsed?.protocol !== "https:") continue;
      const named = proxy ? proxyPathOf(parsed) : null;
      scopes.push({ parameter, scope: named ?? `/dispatch/${toBase64Url(utf8(given))}` });
    }
  }
  return scopes;
}

function reportRefused(c: Context, parameter: string, scope: string): Response {
  return problemResponse(c, {
    status: 401,
    kind: "unauthorized",
    title: TITLES.denied,
    detail: `The token does not grant ${scope}, where ${parameter} would have hookd send its report: a report URL ` +
      `needs the same grant as a target. Use a token for both, or for a "/"-ending prefix of both.`,
    headers: { "www-authenticate": 'Basic realm="hookd"' },
    extra: { field: parameter },
  });
}

const TITLES: Record<TokenVerdict, string> = {
  granted: "",
  denied: "A token for this path is required",
  expired: "The token has expired",
  revoked: "The token has been revoked",
};

/** Expired and revoked say so, but never which path the token grants. */
function refusalDetail(verdict: TokenVerdict, path: string, sent: boolean): string {
  if (verdict === "expired") return "The token has passed its expiry. Ask for a new one (hookd make-tokens --expires).";
  if (verdict === "revoked") return "The token was revoked (hookd revoke). Ask for a new one.";
  return sent
    ? `The token does not grant ${path}. Use the token for this path or for a "/"-ending prefix of it (hookd make-tokens ${path}).`
    : `Send the token for ${path} as the Basic user name (http://TOKEN@host${path}) or as "Authorization: Bearer TOKEN".`;
}

/**
 * `?token=` off the stream routes is refused rather than ignored, so a client learns to move it
 * into a header instead of getting a puzzling 401 (or, with a header too, quietly leaking it on
 * every call). The detail never repeats the token.
 */
function queryTokenRefused(c: Context): Response {
  return problemResponse(c, {
    status: 400,
    kind: "bad-request",
    title: "The request is malformed",
    detail: `?${QUERY_TOKEN}= is only accepted on stream routes (/sub/, /sse/, /unsafe/sub/, /stream), where a ` +
      `browser's EventSource or WebSocket cannot send a header; send it as "Authorization: Bearer TOKEN" ` +
      `(or as the Basic user name) instead, and treat a token that went into a URL as logged.`,
    extra: { field: QUERY_TOKEN },
  });
}
