import { type OpenAPIHono, type RouteConfig, type RouteHandler, z } from "@hono/zod-openapi";
import type { BlankEnv, BlankSchema } from "hono/types";
import type { ZodType } from "zod";

/**
 * What every route definition shares in the OpenAPI document: the one Problem schema (RFC 9457
 * with every extension member hookd sends), problem responses by status, the security schemes and
 * the path parameter of an id. Route files build their own definitions from these.
 */

/** hookd's app: an OpenAPIHono with Hono's plain environment, so it stays a Hono to everything that serves it. */
export type ApiApp = OpenAPIHono<BlankEnv, BlankSchema>;

export const ProblemSchema = z
  .object({
    type: z.string().describe("urn:hookd:problem:<kind>, e.g. urn:hookd:problem:bad-request"),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().describe("what went wrong and how to fix the request"),
    instance: z.string().optional().describe("the request's path"),
    field: z.string().optional().describe("the field, parameter or header at fault"),
    errors: z
      .array(z.object({ field: z.string().nullable(), message: z.string() }))
      .optional()
      .describe("each invalid field or unknown parameter, for 400s from validation"),
    state: z.string().optional().describe("409: the state that refused the transition"),
    limit: z.number().int().optional().describe("413: the byte limit; 429: the open-stream limit"),
    allowed: z.array(z.string()).optional().describe("405: the methods the path takes (as in Allow)"),
    conflicts: z
      .array(z.string())
      .optional()
      .describe("422 idempotency-key-reused: what differs from the key's first request"),
    accepted: z.array(z.string()).optional().describe("the values the field accepts"),
    expected: z.string().optional().describe("the value the header must have"),
    event_id: z.string().optional().describe("410 event-expired: the event that aged out"),
    seq: z.number().int().optional().describe("410 event-expired: its sequence in the topic log"),
  })
  .openapi("Problem", { description: "RFC 9457 problem details, as application/problem+json" });

const PROBLEM_CONTENT = { "application/problem+json": { schema: ProblemSchema } };

/** Problem responses: `problems({ 404: "No such delivery" })`. */
export function problems<const S extends number>(described: Record<S, string>) {
  const responses = {} as Record<S, { description: string; content: typeof PROBLEM_CONTENT }>;
  for (const [status, description] of Object.entries(described) as [string, string][]) {
    responses[Number(status) as S] = { description, content: PROBLEM_CONTENT };
  }
  return responses;
}

/** What any route behind a token may answer. */
export const AUTH_PROBLEMS = problems({ 401: "No token, or not one that grants this path (see WWW-Authenticate)" });

export const json = <T extends ZodType>(description: string, schema: T) => ({
  description,
  content: { "application/json": { schema } },
});

/** Request bodies documented by reference: the component each name stands for. */
export const REQUEST_BODY_COMPONENTS = new Map<string, ZodType>();

/**
 * A request body documented by `schema` but read by the route itself (readJsonBody, forms, raw
 * bytes) with its own size limits and problem details: given as a $ref, the library adds no
 * validator of its own. openApiDocument registers the component.
 */
export function bodyRef(component: string, schema: ZodType) {
  REQUEST_BODY_COMPONENTS.set(component, schema);
  return { $ref: `#/components/schemas/${component}` };
}

export const SECURITY_SCHEMES = {
  basic: {
    type: "http",
    scheme: "basic",
    description: "The path's token as the user name (or as the password): http://TOKEN@host/path",
  },
  bearer: {
    type: "http",
    scheme: "bearer",
    description: "The path's token: lowercase hex HMAC-SHA1 of the path (or a '/'-ending prefix) under HOOKD_KEY",
  },
  token: {
    type: "apiKey",
    in: "query",
    name: "token",
    description: "The path's token, on stream GETs only (/sub/, /sse/, /unsafe/sub/, /stream), for browsers' " +
      "EventSource and WebSocket, which cannot set headers; anywhere else ?token= is a 400",
  },
} as const;

/** Any one header scheme carries the token; a token in a URL ends up in access logs. */
export const TOKEN_REQUIRED: Record<string, string[]>[] = [{ basic: [] }, { bearer: [] }];
/** Stream routes also take `?token=` (auth.ts), where a browser cannot send a header. */
export const STREAM_TOKEN: Record<string, string[]>[] = [...TOKEN_REQUIRED, { token: [] }];
/** Routes open to anyone (auth.ts's OPEN_PATHS, Hookbot's /unsafe/pub/). */
export const NO_TOKEN: [] = [];

export const IdParamsSchema = z.object({ id: z.string().openapi({ param: { name: "id", in: "path" } }) });

export const IdempotencyKeyParameter: ParameterDoc = {
  name: "Idempotency-Key",
  in: "header",
  required: false,
  description: "The same key with the same request replays its first answer; with a different one it is a 422",
  schema: { type: "string", maxLength: 255 },
};

export const PreferWaitParameter: ParameterDoc = {
  name: "Prefer",
  in: "header",
  required: false,
  description: "wait=<seconds> (RFC 7240): answer with the receiver's answer to the first attempt, or 202 when " +
    "the wait runs out; capped at HOOKD_TIMEOUT + 5 s (docs/deliveries.md#inline-mode-prefer-wait)",
  schema: { type: "string", example: "wait=10" },
};

/** Hookah's forms' own query parameters beside _url: inline mode and reports (http/dispatch-controls.ts). */
export const DISPATCH_CONTROL_PARAMETERS: ParameterDoc[] = [
  {
    name: "_wait",
    in: "query",
    required: false,
    description: "seconds to wait for the first attempt's answer, as Prefer: wait= (a 400 when not whole seconds)",
    schema: { type: "integer", minimum: 0 },
  },
  {
    name: "_callback",
    in: "query",
    required: false,
    description: "where to POST a signed report once the delivery is delivered or failed",
    schema: { type: "string", format: "uri" },
  },
  {
    name: "_errback",
    in: "query",
    required: false,
    description: "where to POST a signed report if the delivery fails",
    schema: { type: "string", format: "uri" },
  },
];

/**
 * app.openapi, answering with plain Responses: hookd's handlers answer through shared helpers
 * (acceptDelivery, problem+json thrown to onError) and non-JSON bodies (text, event streams,
 * WebSocket upgrades) that the library's typed responses cannot express. The route, its
 * validators and its documentation are still the one definition; only the return type is loose.
 */
export function defineRoute<R extends RouteConfig>(
  app: ApiApp,
  route: R,
  handler: (...args: Parameters<RouteHandler<R>>) => Response | Promise<Response>,
): void {
  app.openapi(route, handler as unknown as RouteHandler<R, BlankEnv>);
}

export type ParameterDoc = {
  name: string;
  in: "query" | "header" | "path";
  required?: boolean;
  description?: string;
  schema?: object;
};

/** Parameters a route reads by itself (headers, Hookah's and Hookbot's query), documented without a validator. */
export const parameters = (...list: ParameterDoc[]) => list as NonNullable<RouteConfig["parameters"]>;
