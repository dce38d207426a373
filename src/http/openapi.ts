import { z } from "zod";
import { DeliveryViewSchema } from "../runtime/delivery-view.ts";
import { CreateDeliveryBodySchema, ListDeliveriesQuerySchema } from "./delivery-routes.ts";

/** The OpenAPI 3.1 document for hookd's HTTP API, generated from the same zod schemas the routes validate with. */

function schema(type: z.ZodType): Record<string, unknown> {
  // Inside an OpenAPI document each schema is a fragment: the $schema dialect marker belongs to the document, not to them.
  const { $schema: _dialect, ...fragment } = z.toJSONSchema(type, {
    io: "input",
    unrepresentable: "any",
    target: "draft-2020-12",
  }) as Record<string, unknown>;
  return fragment;
}

const AcceptedSchema = z.object({
  id: z.string().describe("the delivery id (dlv_ + ULID); also the webhook-id of signed attempts"),
});
const StateChangeSchema = z.object({ id: z.string(), state: z.string() });
const ListSchema = z.object({
  data: z.array(z.object({ id: z.string(), state: z.string(), target: z.string().nullable(), updated_at: z.string() })),
  next_cursor: z.string().nullable(),
});
const ProblemSchema = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string(),
  instance: z.string(),
  errors: z.array(z.object({ field: z.string().nullable(), message: z.string() })).optional(),
});

const problem = (description: string) => ({
  description,
  content: { "application/problem+json": { schema: schema(ProblemSchema) } },
});
const json = (description: string, type: z.ZodType) => ({
  description,
  content: { "application/json": { schema: schema(type) } },
});
const deliveryId = { name: "id", in: "path", required: true, schema: { type: "string" } };
const idempotencyKey = {
  name: "Idempotency-Key",
  in: "header",
  required: false,
  schema: { type: "string", maxLength: 255 },
};
const accepted = {
  "202": {
    ...json("Stored durably; delivery follows", AcceptedSchema),
    headers: { Location: { schema: { type: "string" } } },
  },
  "400": problem("Malformed request"),
  "401": problem("Missing or wrong token"),
  "413": problem("Body over HOOKD_MAX_BODY"),
  "422": problem("Target in a forbidden network"),
  "503": problem("NATS unavailable; nothing was accepted (see Retry-After)"),
};

function queryParameters(type: z.ZodObject) {
  const json = schema(type) as { properties?: Record<string, object>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, property]) => ({
    name,
    in: "query",
    required: json.required?.includes(name) ?? false,
    schema: property,
  }));
}

// Long: it is the document itself, one object literal; each operation is a few lines of it.
export function openApiDocument(): Record<string, unknown> {
  return {
    openapi: "3.1.0",
    info: {
      title: "hookd",
      version: "0.1.0",
      description: "Durable, signed, retried webhook delivery on NATS JetStream.",
    },
    components: {
      securitySchemes: {
        bearer: {
          type: "http",
          scheme: "bearer",
          description: "The path's token: lowercase hex HMAC-SHA1 of the path under HOOKD_KEY",
        },
        basic: { type: "http", scheme: "basic", description: "The path's token as the user name" },
      },
    },
    security: [{ bearer: [] }, { basic: [] }],
    paths: {
      "/dispatch": {
        post: {
          summary: "Deliver this request to _url (Hookah-compatible)",
          parameters: [{ name: "_url", in: "query", required: false, schema: { type: "string" } }, idempotencyKey],
          requestBody: {
            description: "form, multipart, JSON (with _url inside) or any raw body",
            content: { "*/*": {} },
          },
          responses: accepted,
        },
      },
      "/dispatch/{target}": {
        post: {
          summary: "Forward the raw body to the base64url-encoded target",
          parameters: [{ name: "target", in: "path", required: true, schema: { type: "string" } }, idempotencyKey],
          requestBody: { content: { "*/*": {} } },
          responses: accepted,
        },
      },
      "/api/v1/deliveries": {
        post: {
          summary: "Create a delivery",
          parameters: [idempotencyKey],
          requestBody: {
            required: true,
            content: { "application/json": { schema: schema(CreateDeliveryBodySchema) } },
          },
          responses: accepted,
        },
        get: {
          summary: "List deliveries, newest first",
          parameters: queryParameters(ListDeliveriesQuerySchema),
          responses: { "200": json("A page of deliveries", ListSchema), "400": problem("Bad parameters") },
        },
      },
      "/api/v1/deliveries/{id}": {
        get: {
          summary: "A delivery, its attempts and its journal",
          parameters: [deliveryId],
          responses: {
            "200": json("The delivery, rebuilt by folding its journal", DeliveryViewSchema),
            "404": problem("No such delivery"),
          },
        },
      },
      "/api/v1/deliveries/{id}/retry": {
        post: {
          summary: "Retry a failed or cancelled delivery by hand",
          parameters: [deliveryId],
          responses: {
            "202": json("Back to pending", StateChangeSchema),
            "404": problem("No such delivery"),
            "409": problem("Not possible in its state"),
          },
        },
      },
      "/api/v1/deliveries/{id}/cancel": {
        post: {
          summary: "Cancel a pending, in-flight or backoff delivery",
          parameters: [deliveryId],
          responses: {
            "200": json("Cancelled", StateChangeSchema),
            "404": problem("No such delivery"),
            "409": problem("Not possible in its state"),
          },
        },
      },
      "/api/v1/machines/delivery": {
        get: {
          summary: "The delivery machine's states and transitions",
          responses: { "200": { description: "Machine graph" } },
        },
      },
      "/api/v1/openapi.json": {
        get: { summary: "This document", security: [], responses: { "200": { description: "OpenAPI 3.1" } } },
      },
      "/healthz": {
        get: {
          summary: "Liveness and NATS connectivity",
          security: [],
          responses: { "200": { description: "ok" }, "503": { description: "NATS disconnected" } },
        },
      },
      "/metrics": {
        get: { summary: "Prometheus metrics", responses: { "200": { description: "text exposition format" } } },
      },
    },
  };
}
