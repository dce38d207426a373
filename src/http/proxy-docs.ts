import { createRoute } from "@hono/zod-openapi";
import { DISPATCH_CONTROL_PARAMETERS, IdempotencyKeyParameter, parameters, PreferWaitParameter } from "./api-docs.ts";
import { DELIVERY_ACCEPTED_RESPONSES } from "./delivery-routes.ts";
import { HOST_SEGMENT } from "../domain/proxy-target.ts";

/**
 * The OpenAPI definitions of Hookah's proxy form (proxy-routes.ts). Its route is a pattern on the
 * first segment and a wildcard after it, which the library's paths cannot express, so
 * proxy-routes.ts registers these beside its route with registerPath, as `/{host}/{path}`.
 */

export const PROXY_METHODS = ["POST", "PUT", "PATCH", "DELETE"] as const;
type ProxyMethod = (typeof PROXY_METHODS)[number];

const OPERATION_IDS: Record<ProxyMethod, string> = {
  POST: "proxyPost",
  PUT: "proxyPut",
  PATCH: "proxyPatch",
  DELETE: "proxyDelete",
};

export function proxyRoute(method: ProxyMethod) {
  return createRoute({
    method: method.toLowerCase() as "post" | "put" | "patch" | "delete",
    path: "/{host}/{path}",
    operationId: OPERATION_IDS[method],
    summary: `Deliver this ${method} to http://{host}/{path} (Hookah's proxy form; port 443 means https)`,
    tags: ["deliveries"],
    parameters: parameters(
      {
        name: "host",
        in: "path",
        required: true,
        description: "the target's host: a name with a dot, host:port, localhost, or [IPv6]; " +
          "host:443 delivers over https. A segment without a dot or port is never this route.",
        schema: { type: "string", pattern: `^${HOST_SEGMENT}$` },
      },
      {
        name: "path",
        in: "path",
        required: true,
        description: 'the rest of the target\'s path, "/"-separated; the query string is forwarded as is, ' +
          "but for hookd's _wait, _callback and _errback",
        schema: { type: "string" },
      },
      IdempotencyKeyParameter,
      PreferWaitParameter,
      ...DISPATCH_CONTROL_PARAMETERS,
    ),
    request: {
      body: {
        description: "forwarded byte for byte with its Content-Type and the caller's end-to-end headers",
        content: { "*/*": { schema: { type: "string" as const, format: "binary" } } },
      },
    },
    responses: DELIVERY_ACCEPTED_RESPONSES,
  });
}
