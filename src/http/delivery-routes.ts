import { createRoute } from "@hono/zod-openapi";
import type { Context } from "hono";
import { z } from "zod";
import { DeliveryStateSchema } from "../runtime/delivery-state.ts";
import { base64Capacity, base64Length, fromBase64, toBase64, utf8 } from "../domain/bytes.ts";
import { HeaderMapSchema, HeaderValueSchema, lowercaseHeaderNames } from "../domain/header-names.ts";
import { isDeliveryId } from "../domain/ids.ts";
import { isValidSecret } from "../domain/sign-standard-webhooks.ts";
import type { Logger } from "../log.ts";
import { cursorKindOf, decodeCursor } from "../domain/delivery-listing.ts";
import { loadDeliveryBody } from "../runtime/delivery-body.ts";
import { DeliveryNotFoundError } from "../runtime/delivery-commands.ts";
import { DeliveryViewSchema, loadDeliveryView } from "../runtime/delivery-view.ts";
import { deliveryLinks, DeliveryLinksSchema } from "./api-links.ts";
import {
  type ApiApp,
  AUTH_PROBLEMS,
  bodyRef,
  defineRoute,
  IdempotencyKeyParameter,
  IdParamsSchema,
  json,
  parameters,
  PreferWaitParameter,
  problems,
} from "./api-docs.ts";
import { acceptDelivery, type IngestDeps } from "./ingest.ts";
import { readJsonBody } from "./json-body.ts";
import {
  countDeliveriesView,
  listDeliveriesView,
  ListedDeliverySchema,
  type ListingDeps,
} from "./delivery-list-view.ts";
import { badRequest } from "./problem.ts";
import { NoQuerySchema, PageLimitSchema, query } from "./query.ts";
import { tooLarge } from "./read-body.ts";

/** The native JSON API for deliveries. */

export const CreateDeliveryBodySchema = z
  .object({
    url: z.string({ error: "url is required: the absolute http(s) URL to deliver to" }),
    method: z
      .string()
      .transform((method) => method.toUpperCase())
      .pipe(
        z.enum(["POST", "PUT", "PATCH", "DELETE", "GET"], {
          error: "method must be one of POST, PUT, PATCH, DELETE, GET",
        }),
      )
      .default("POST")
      .describe("POST (default), PUT, PATCH, DELETE or GET, any case"),
    headers: HeaderMapSchema.default({}),
    body: z.unknown().optional(),
    body_base64: z.string().optional(),
    content_type: HeaderValueSchema.optional(),
    secret: z.string().refine(
      isValidSecret,
      "secret must be a Standard Webhooks secret: whsec_ followed by base64 of 16 to 64 bytes",
    ).optional(),
    callback_url: z.string().describe(
      "where hookd POSTs a signed report once the delivery is delivered or failed (docs/deliveries.md#reports)",
    ).optional(),
    errback_url: z.string().describe("where hookd POSTs a signed report if the delivery fails").optional(),
  })
  .strict()
  .refine((value) => !(value.body !== undefined && value.body_base64 !== undefined), {
    message: "send either body or body_base64, not both",
    path: ["body"],
  });
export type CreateDeliveryBody = z.infer<typeof CreateDeliveryBodySchema>;

/** The filters both the list and the counts take: exact values of what never changes in a delivery. */
export const DeliveryFacetsQuerySchema = z.object({
  subscription_id: facetParam("subscription_id", "deliveries of this subscription"),
  host: facetParam("host", "deliveries to this target host (with :port when not 80 or 443), any case"),
  topic: facetParam("topic", "deliveries of events published to this topic (exact, no prefix)"),
  event_type: facetParam("event_type", "deliveries of events of this type"),
});

export const ListDeliveriesQuerySchema = z.object({
  state: DeliveryStateSchema.optional(),
  limit: PageLimitSchema,
  cursor: z.string().refine(
    (cursor) => decodeCursor(cursor) !== null,
    "cursor must be a next_cursor value from a previous page",
  ).optional(),
  ...DeliveryFacetsQuerySchema.shape,
  since: timeParam("since", "deliveries whose last state change was at or after this time"),
  until: timeParam("until", "deliveries whose last state change was before this time"),
  q: z.string().min(1, "q must not be empty").max(255, "q is at most 255 characters").optional().describe(
    "a delivery id, an event id (the deliveries its fan-out created) or an idempotency key (the newest delivery created with it); the other filters still apply",
  ),
}).refine(
  // A cursor that is no cursor at all has its own message already.
  (query) =>
    query.cursor === undefined || (decodeCursor(query.cursor)?.kind ?? cursorKindOf(query)) === cursorKindOf(query),
  { message: "cursor must come from a page of the same query (with q, or without)", path: ["cursor"] },
);

function facetParam(name: string, description: string) {
  return z.string().min(1, `${name} must not be empty`).max(1000, `${name} is at most 1000 characters`).optional()
    .describe(description);
}

function timeParam(name: string, description: string) {
  return z.string().refine(
    (value) => /^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(value) && !Number.isNaN(Date.parse(value)),
    `${name} must be an ISO 8601 time such as 2026-12-01T09:30:00Z`,
  ).transform((value) => new Date(value)).optional().describe(description);
}

function encodeBody(body: CreateDeliveryBody): { body: string; contentType: string | undefined } {
  if (body.body_base64 !== undefined) {
    let bytes: Uint8Array;
    try {
      bytes = fromBase64(body.body_base64);
    } catch {
      throw badRequest("body_base64 is not valid base64.", { field: "body_base64" });
    }
    return { body: toBase64(bytes), contentType: body.content_type ?? "application/octet-stream" };
  }
  if (body.body === undefined) return { body: "", contentType: body.content_type };
  if (typeof body.body === "string") {
    return { body: toBase64(utf8(body.body)), contentType: body.content_type ?? "text/plain; charset=utf-8" };
  }
  return { body: toBase64(utf8(JSON.stringify(body.body))), contentType: body.content_type ?? "application/json" };
}

/** GET /api/v1/deliveries/<id>: the delivery as the runtime folds it, with links to its body, event and subscription. */
export const DeliveryResponseSchema = DeliveryViewSchema.extend({ links: DeliveryLinksSchema }).openapi("Delivery");

export const DeliveryAcceptedSchema = z.object({
  id: z.string().describe("the delivery id (dlv_ + ULID); also the webhook-id of signed attempts"),
}).openapi("DeliveryAccepted");

export const DeliveryStateChangeSchema = z.object({ id: z.string(), state: z.string() }).openapi("DeliveryStateChange");

export const DeliveryPageSchema = z.object({
  data: z.array(ListedDeliverySchema),
  next_cursor: z.string().nullable().describe("pass as ?cursor= for the next page; null on the last"),
  links: z.object({
    next: z.string().nullable().describe("this list's next page (same filters), or null on the last"),
  }),
}).openapi("DeliveryPage");

const DELIVERY_HEADERS = {
  "Hookd-Delivery-Id": { description: "with Prefer: wait, the delivery", schema: { type: "string" as const } },
  "Hookd-Delivery-State": {
    description: "with Prefer: wait, its state right after the first attempt (or when the wait ran out)",
    schema: { type: "string" as const },
  },
  "Preference-Applied": {
    description: "wait=N when the first attempt's answer is given; respond-async, wait=N when the wait ran out",
    schema: { type: "string" as const },
  },
};

export const DeliveryCountsSchema = z.object({
  counts: z.record(z.string(), z.number().int()).describe("deliveries in each state (every state named, 0 included)"),
  total: z.number().int(),
  index_lag: z.number().int().describe(
    "journal messages the index has not read yet: 0 when the counts and lists are up to date",
  ),
}).openapi("DeliveryCounts");

/** What taking a request for delivery may answer: /dispatch shares it. */
export const DELIVERY_ACCEPTED_RESPONSES = {
  202: {
    ...json("Stored durably; delivery follows (with Prefer: wait, the wait ran out)", DeliveryAcceptedSchema),
    headers: {
      Location: { description: "the delivery's URL", schema: { type: "string" as const } },
      ...DELIVERY_HEADERS,
    },
  },
  default: {
    description: "With Prefer: wait, the receiver's answer to the first attempt: its status, the headers " +
      "inline mode passes, its body (the first 64 KiB); a 502 (504 on a timeout) problem when it did not answer",
    headers: DELIVERY_HEADERS,
    content: { "*/*": { schema: { type: "string" as const, format: "binary" } } },
  },
  ...problems({
    400: "Malformed request",
    413: "Body over HOOKD_MAX_BODY (see limit)",
    422: "Target in a forbidden network, or the Idempotency-Key was used for a different request",
    503: "NATS unavailable; nothing was accepted (see Retry-After)",
  }),
  ...AUTH_PROBLEMS,
};

const NOT_FOUND = problems({ 404: "No such delivery" });
const REFUSED = problems({ 404: "No such delivery", 409: "Not possible in its state (see state)" });

const createDeliveryRoute = createRoute({
  method: "post",
  path: "/api/v1/deliveries",
  operationId: "createDelivery",
  summary: "Create a delivery",
  tags: ["deliveries"],
  middleware: [query(NoQuerySchema)] as const,
  parameters: parameters(IdempotencyKeyParameter, PreferWaitParameter),
  request: {
    body: {
      required: true,
      content: { "application/json": { schema: bodyRef("CreateDeliveryRequest", CreateDeliveryBodySchema) } },
    },
  },
  responses: DELIVERY_ACCEPTED_RESPONSES,
});

const listDeliveriesRoute = createRoute({
  method: "get",
  path: "/api/v1/deliveries",
  operationId: "listDeliveries",
  summary: "List deliveries, newest first",
  tags: ["deliveries"],
  middleware: [query(ListDeliveriesQuerySchema)] as const,
  request: { query: ListDeliveriesQuerySchema },
  responses: {
    200: json("A page of deliveries", DeliveryPageSchema),
    ...problems({ 400: "Bad parameters" }),
    ...AUTH_PROBLEMS,
  },
});

const deliveryCountsRoute = createRoute({
  method: "get",
  path: "/api/v1/deliveries/counts",
  operationId: "countDeliveries",
  summary: "Deliveries per state, for every delivery or those the filters select",
  tags: ["deliveries"],
  middleware: [query(DeliveryFacetsQuerySchema)] as const,
  request: { query: DeliveryFacetsQuerySchema },
  responses: {
    200: json("Counts per state", DeliveryCountsSchema),
    ...problems({ 400: "Bad parameters" }),
    ...AUTH_PROBLEMS,
  },
});

const getDeliveryRoute = createRoute({
  method: "get",
  path: "/api/v1/deliveries/{id}",
  operationId: "getDelivery",
  summary: "A delivery, its attempts and its journal",
  tags: ["deliveries"],
  middleware: [query(NoQuerySchema)] as const,
  request: { params: IdParamsSchema },
  responses: {
    200: json("The delivery, rebuilt by folding its journal", DeliveryResponseSchema),
    ...NOT_FOUND,
    ...AUTH_PROBLEMS,
  },
});

const deliveryBodyRoute = createRoute({
  method: "get",
  path: "/api/v1/deliveries/{id}/body",
  operationId: "getDeliveryBody",
  summary: "The body the delivery sends, raw, with its content type",
  tags: ["deliveries"],
  middleware: [query(NoQuerySchema)] as const,
  request: { params: IdParamsSchema },
  responses: {
    200: {
      description: "The body as sent, in its own content type",
      content: { "*/*": { schema: { type: "string", format: "binary" } } },
    },
    ...problems({ 404: "No such delivery", 410: "The event it delivers has aged out of the topic log" }),
    ...AUTH_PROBLEMS,
  },
});

const retryDeliveryRoute = createRoute({
  method: "post",
  path: "/api/v1/deliveries/{id}/retry",
  operationId: "retryDelivery",
  summary: "Retry a failed or cancelled delivery by hand",
  tags: ["deliveries"],
  middleware: [query(NoQuerySchema)] as const,
  request: { params: IdParamsSchema },
  responses: { 202: json("Back to pending", DeliveryStateChangeSchema), ...REFUSED, ...AUTH_PROBLEMS },
});

const cancelDeliveryRoute = createRoute({
  method: "post",
  path: "/api/v1/deliveries/{id}/cancel",
  operationId: "cancelDelivery",
  summary: "Cancel a pending, in-flight or backoff delivery",
  tags: ["deliveries"],
  middleware: [query(NoQuerySchema)] as const,
  request: { params: IdParamsSchema },
  responses: { 200: json("Cancelled", DeliveryStateChangeSchema), ...REFUSED, ...AUTH_PROBLEMS },
});

/** Room for the JSON around a base64 body (its field names, headers, URL) in a create request. */
const JSON_ROOM = 64 * 1024;

type DeliveryRouteDeps = IngestDeps & ListingDeps & {
  maxBodyBytes: number;
  log: Logger;
};

export function mountDeliveryRoutes(app: ApiApp, deps: DeliveryRouteDeps): void {
  defineRoute(app, createDeliveryRoute, (c) => createDelivery(c, deps));
  defineRoute(app, listDeliveriesRoute, (c) => listDeliveriesView(c, c.req.valid("query"), deps));
  // Before /{id}: "counts" is no delivery id.
  defineRoute(app, deliveryCountsRoute, (c) => countDeliveriesView(c, c.req.valid("query"), deps));

  defineRoute(app, getDeliveryRoute, async (c) => {
    const id = c.req.param("id");
    const view = isDeliveryId(id) ? await loadDeliveryView(deps.deliveryStore, id) : null;
    if (!view) throw new DeliveryNotFoundError(id);
    return c.json({ ...view, links: deliveryLinks(view) }, 200);
  });

  defineRoute(app, deliveryBodyRoute, (c) => deliveryBody(c, c.req.param("id"), deps));

  defineRoute(app, retryDeliveryRoute, async (c) => {
    const id = c.req.param("id");
    if (!isDeliveryId(id)) throw new DeliveryNotFoundError(id);
    const state = await deps.deliveries.retry(id);
    return c.json({ id, state }, 202, { location: `/api/v1/deliveries/${id}` });
  });

  defineRoute(app, cancelDeliveryRoute, async (c) => {
    const id = c.req.param("id");
    if (!isDeliveryId(id)) throw new DeliveryNotFoundError(id);
    const state = await deps.deliveries.cancel(id);
    return c.json({ id, state }, 200);
  });
}

async function createDelivery(c: Context, deps: DeliveryRouteDeps): Promise<Response> {
  const body = await readJsonBody(c, CreateDeliveryBodySchema, {
    // base64 and JSON escaping make the request bigger than the body it carries; allow for that.
    limit: {
      bytes: base64Length(deps.maxBodyBytes) + JSON_ROOM,
      setBy: `HOOKD_MAX_BODY's ${deps.maxBodyBytes} bytes, as base64 in JSON`,
    },
    notJson: 'The body must be a JSON object such as {"url": "https://example.com/hook", "body": {...}}.',
  });
  const encoded = encodeBody(body);
  if (base64Capacity(encoded.body.length) > deps.maxBodyBytes) throw tooLarge(deps.maxBodyBytes, "HOOKD_MAX_BODY");
  const headers = lowercaseHeaderNames(body.headers);
  if (encoded.contentType) headers["content-type"] = encoded.contentType;
  return acceptDelivery(c, deps, {
    target: body.url,
    targetField: "url",
    method: body.method,
    headers,
    body: encoded.body,
    secrets: body.secret ? [body.secret] : [],
    source: "api",
    callback: body.callback_url === undefined ? undefined : { url: body.callback_url, field: "callback_url" },
    errback: body.errback_url === undefined ? undefined : { url: body.errback_url, field: "errback_url" },
  });
}

/**
 * The body as sent, with its content type. It is the sender's content served from hookd's origin,
 * so a browser is told not to sniff it and to run nothing in it (a text/html body stays inert).
 */
async function deliveryBody(c: Context, id: string, deps: DeliveryRouteDeps): Promise<Response> {
  if (!isDeliveryId(id)) throw new DeliveryNotFoundError(id);
  const { body, contentType } = await loadDeliveryBody(deps, id);
  // Deliveries stored before content types were checked may hold one no header can carry.
  const servable = HeaderValueSchema.safeParse(contentType).success ? contentType : "application/octet-stream";
  return c.body(body as Uint8Array<ArrayBuffer>, 200, {
    "content-type": servable,
    "x-content-type-options": "nosniff",
    "content-security-policy": "sandbox",
  });
}
