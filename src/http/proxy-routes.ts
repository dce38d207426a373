import { toBase64 } from "../domain/bytes.ts";
import { forwardedHeaders } from "../domain/proxy-headers.ts";
import { HOST_SEGMENT, proxyTargetUrl, withoutReservedParameters } from "../domain/proxy-target.ts";
import { preferWithoutWait } from "../domain/prefer-wait.ts";
import { dispatchControls } from "./dispatch-controls.ts";
import type { ApiApp } from "./api-docs.ts";
import { checkBodyAgainstType } from "./body-content-type.ts";
import { acceptDelivery, type IngestDeps } from "./ingest.ts";
import { PROXY_METHODS, proxyRoute } from "./proxy-docs.ts";
import { readBody } from "./read-body.ts";

/**
 * Hookah's proxy form: `POST /example.com/user/callback?x=1` is the request to deliver to
 * `http://example.com/user/callback?x=1`, with its method, body and end-to-end headers, answered
 * as /dispatch answers. Only a host-shaped first segment routes here (domain/proxy-target.ts).
 *
 * `_wait`, `_callback` and `_errback` in the query, and the `wait` preference of Prefer, are hookd's
 * (inline mode and reports): they are taken out of what is forwarded.
 *
 * GET and HEAD are not taken: they are safe methods (RFC 9110 §9.2.1), which crawlers, link
 * previews and prefetchers call freely, and a delivery is a side effect; OPTIONS is CORS's preflight.
 */

export const PROXY_ROUTE_PATH = `/:host{${HOST_SEGMENT}}/*`;

export function mountProxyRoutes(app: ApiApp, deps: IngestDeps & { maxBodyBytes: number }): void {
  for (const method of PROXY_METHODS) app.openAPIRegistry.registerPath(proxyRoute(method));
  app.on([...PROXY_METHODS], PROXY_ROUTE_PATH, async (c) => {
    const url = new URL(c.req.url);
    const body = await readBody(c, deps.maxBodyBytes, "HOOKD_MAX_BODY");
    checkBodyAgainstType(c, body, c.req.header("content-type"));
    return acceptDelivery(c, deps, {
      target: proxyTargetUrl(url.pathname, withoutReservedParameters(url.search)),
      targetField: "path",
      method: c.req.method,
      headers: withoutWaitPreference(forwardedHeaders(c.req.raw.headers)),
      body: toBase64(body),
      secrets: [],
      source: "dispatch",
      ...dispatchControls(c.req.query()),
    });
  });
}

/** Prefer's wait is hookd's inline mode; any other preference is the receiver's and goes on. */
function withoutWaitPreference(headers: Record<string, string>): Record<string, string> {
  const prefer = headers["prefer"];
  if (prefer === undefined) return headers;
  const { prefer: _, ...rest } = headers;
  const kept = preferWithoutWait(prefer);
  return kept === null ? rest : { ...rest, prefer: kept };
}
