import type { Context, MiddlewareHandler } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { TokenChecker, TokenVerdict } from "../domain/token-check.ts";
import { toHex } from "../domain/bytes.ts";

/**
 * The console's sign-in: the token lives in an HttpOnly, SameSite=Strict cookie scoped to /console,
 * and is checked again on every request (so an expired or revoked token signs the console out).
 * A state-changing request must also pass two CSRF checks: its Origin (or, without one, its
 * Sec-Fetch-Site) must be this host, and it must carry the session's CSRF token, an HMAC of the
 * cookie that a page of another origin can neither read nor compute.
 */

export const CONSOLE_PATH = "/console";
export const SESSION_COOKIE = "hookd_console";
export const CSRF_FIELD = "_csrf";
export const CSRF_HEADER = "x-console-csrf";

/** The paths whose token the console needs: it reads the JSON API's data and the topic streams. */
export const CONSOLE_SCOPES = ["/api/v1/", "/sub/"] as const;

export type SessionEnv = { Variables: { token: string; csrf: string } };

export type SignInVerdict = { ok: true } | { ok: false; message: string };

/** Whether a token may open the console: it must grant every path the console reads. */
export async function judgeToken(tokens: TokenChecker, token: string): Promise<SignInVerdict> {
  if (!token) return { ok: false, message: "Enter a token." };
  const verdicts = await Promise.all(CONSOLE_SCOPES.map((scope) => tokens.check(scope, token)));
  const refused = verdicts.find((verdict) => verdict !== "granted");
  if (!refused) return { ok: true };
  return { ok: false, message: REFUSALS[refused] };
}

const REFUSALS: Record<TokenVerdict, string> = {
  granted: "",
  denied: "This token does not grant what the console shows (it needs /api/v1/ and /sub/). " +
    "Sign in with the admin token (the token for /, printed at hookd's first start).",
  expired: "This token has expired. Ask for a new one (hookd make-tokens --expires).",
  revoked: "This token was revoked. Ask for a new one.",
};

export async function csrfTokenOf(token: string): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(token),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode("hookd console csrf"));
  return toHex(new Uint8Array(mac));
}

function isHttps(c: Context): boolean {
  return new URL(c.req.url).protocol === "https:" || c.req.header("x-forwarded-proto") === "https";
}

export function startSession(c: Context, token: string): void {
  setCookie(c, SESSION_COOKIE, token, {
    path: CONSOLE_PATH,
    httpOnly: true,
    sameSite: "Strict",
    secure: isHttps(c),
  });
}

export function endSession(c: Context): void {
  deleteCookie(c, SESSION_COOKIE, { path: CONSOLE_PATH, secure: isHttps(c) });
}

/** The request came from a page of this host: its Origin says so, or (an older browser) Sec-Fetch-Site does. */
export function isSameOrigin(c: Context): boolean {
  const origin = c.req.header("origin");
  const host = c.req.header("host");
  // "null" is an opaque origin (a sandboxed frame, a data: page): never this host's own page.
  if (origin === "null") return false;
  if (origin) {
    try {
      return new URL(origin).host === host;
    } catch {
      return false;
    }
  }
  const site = c.req.header("sec-fetch-site");
  return site === undefined || site === "same-origin" || site === "none";
}

const SAFE_METHODS = new Set(["GET", "HEAD"]);

/**
 * Every console route but the sign-in page and the assets: no valid session, no data. A page asks
 * for the sign-in page; htmx and event streams get a 401 (htmx is told to load the sign-in page).
 */
export function requireSession(tokens: TokenChecker, signInPath: string): MiddlewareHandler<SessionEnv> {
  return async (c, next) => {
    if (!SAFE_METHODS.has(c.req.method) && !isSameOrigin(c)) return refuseCrossSite(c);
    const token = getCookie(c, SESSION_COOKIE) ?? "";
    const verdict = token ? await judgeToken(tokens, token) : { ok: false as const, message: "" };
    if (!verdict.ok) {
      if (token) endSession(c);
      return signInNeeded(c, signInPath);
    }
    const csrf = await csrfTokenOf(token);
    if (!SAFE_METHODS.has(c.req.method) && !(await carriesCsrf(c, csrf))) return refuseCrossSite(c);
    c.set("token", token);
    c.set("csrf", csrf);
    await next();
  };
}

function signInNeeded(c: Context, signInPath: string): Response {
  if (c.req.header("hx-request")) return c.body(null, 401, { "hx-redirect": signInPath });
  if (c.req.method === "GET" && !c.req.header("accept")?.includes("text/event-stream")) {
    return c.redirect(signInPath, 303);
  }
  return c.text("Sign in to the console first.", 401);
}

async function carriesCsrf(c: Context, expected: string): Promise<boolean> {
  const header = c.req.header(CSRF_HEADER);
  if (header !== undefined) return header === expected;
  const type = c.req.header("content-type") ?? "";
  if (!type.startsWith("application/x-www-form-urlencoded") && !type.startsWith("multipart/form-data")) return false;
  const form = await c.req.parseBody();
  return form[CSRF_FIELD] === expected;
}

export function refuseCrossSite(c: Context): Response {
  return c.text(
    "Refused: this request did not come from a console page of this hookd (cross-site request forgery check).",
    403,
  );
}
