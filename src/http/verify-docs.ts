import { createRoute, z } from "@hono/zod-openapi";
import { json, NO_TOKEN, parameters, problems } from "./api-docs.ts";

/** The OpenAPI definition of POST /verify (verify-routes.ts). */

export const VerifiedSchema = z.object({
  verified: z.boolean().describe("true only when hookd sent exactly this body under this id"),
}).openapi("Verified");

export const verifyRoute = createRoute({
  method: "post",
  path: "/verify",
  operationId: "verify",
  summary: "Did hookd send this body under this webhook-id? VERIFIED or INVALID (PayPal's model); no token",
  tags: ["deliveries"],
  security: NO_TOKEN,
  parameters: parameters(
    {
      name: "Webhook-Id",
      in: "header",
      required: false,
      description: "the webhook-id the request carried (its delivery id); or Hookd-Delivery-Id, or ?id=",
      schema: { type: "string" },
    },
    {
      name: "Hookd-Delivery-Id",
      in: "header",
      required: false,
      description: "the Hookd-Delivery-Id every delivery carries, signed or not, in any dialect",
      schema: { type: "string" },
    },
    {
      name: "id",
      in: "query",
      required: false,
      description: "the webhook-id (delivery id), when the header cannot be sent",
      schema: { type: "string" },
    },
  ),
  request: {
    body: {
      description: "the body the receiver got, byte for byte",
      content: { "*/*": { schema: { type: "string" as const, format: "binary" } } },
    },
  },
  responses: {
    200: {
      description: "VERIFIED or INVALID; JSON on Accept: application/json. An unknown id, another body, a body " +
        "over HOOKD_MAX_BODY and a delivery no longer kept are all INVALID",
      content: {
        "text/plain": { schema: { type: "string" as const, enum: ["VERIFIED", "INVALID"] } },
        "application/json": json("", VerifiedSchema).content["application/json"],
      },
    },
    ...problems({
      400: "No id (Webhook-Id header or ?id=), or two that differ",
      429: "Too many verifications from this address (see Retry-After; HOOKD_VERIFY_RATE)",
      503: "NATS unavailable; nothing could be checked (see Retry-After)",
    }),
  },
});
