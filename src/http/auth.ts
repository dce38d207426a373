import type { MiddlewareHandler } from "hono";
import type { PathTokens } from "../domain/path-tokens.ts";
import { problemResponse } from "./problem.ts";

/**
 * Hookbot-style capability tokens on every route but /healthz and the OpenAPI document: the token for a path (or for a
 * "/"-ending ancestor of it) sent as the Basic user name, the Basic password, or a Bearer token.
 */

const OPEN_PATHS = new Set(["/healthz", "/api/v1/openapi.json"]);

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
      return user || password || null;
    } catch {
      return null;
    }
  }
  return null;
}

export function requireToken(tokens: PathTokens): MiddlewareHandler {
  return async (c, next) => {
    const path = new URL(c.req.url).pathname;
    if (OPEN_PATHS.has(path)) return next();
    const token = tokenFromAuthorization(c.req.header("authorization"));
    if (token && (await tokens.grants(path, token))) return next();
    return problemResponse(c, {
      status: 401,
      kind: "unauthorized",
      title: "A token for this path is required",
      detail: token
        ? `The token does not grant ${path}. Use the token for this path or for a "/"-ending prefix of it (hookd make-tokens ${path}).`
        : `Send the token for ${path} as the Basic user name (http://TOKEN@host${path}) or as "Authorization: Bearer TOKEN".`,
      headers: { "www-authenticate": 'Basic realm="hookd"' },
    });
  };
}
