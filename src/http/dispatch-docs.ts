import { createRoute, z } from "@hono/zod-openapi";
import {
  AUTH_PROBLEMS,
  bodyRef,
  DISPATCH_CONTROL_PARAMETERS,
  IdempotencyKeyParameter,
  type ParameterDoc,
  parameters,
  PreferWaitParameter,
} from "./api-docs.ts";
import { DELIVERY_ACCEPTED_RESPONSES } from "./delivery-routes.ts";
import { PUBLISH_PARAMETERS, PUBLISH_RESPONSES } from "./publish-docs.ts";

/**
 * The OpenAPI definitions of Hookah's dispatcher (dispatch-routes.ts). The route reads `_url`,
 * `_topic` and the controls from the query or the body itself, whatever the body's type, so they are documented as
 * parameters and body schemas without a validator of the library's.
 */

const HOOKAH_QUERY: ParameterDoc[] = [
  {
    name: "_url",
    in: "query",
    required: false,
    description: "where to deliver the request's body; or send _url in the form or JSON body",
    schema: { type: "string", format: "uri" },
  },
  {
    name: "_topic",
    in: "query",
    required: false,
    description: "without _url: publish the body to this topic instead (answers as POST /pub/{topic})",
    schema: { type: "string" },
  },
];

/** A form or JSON body may carry the fields instead of the query; they are removed before the body is forwarded. */
const HookahFieldsSchema = z.object({
  _url: z.string().optional().describe("where to deliver the rest of the body"),
  _topic: z.string().optional().describe("without _url: the topic to publish the rest of the body to"),
  _wait: z.union([z.string(), z.number()]).optional().describe("as the _wait query parameter (inline mode)"),
  _callback: z.string().optional().describe("as the _callback query parameter: where to report the delivery's end"),
  _errback: z.string().optional().describe("as the _errback query parameter: where to report its failure"),
}).catchall(z.unknown());
const HOOKAH_FIELDS = bodyRef("HookahFields", HookahFieldsSchema);

export const dispatchRoute = createRoute({
  method: "post",
  path: "/dispatch",
  operationId: "dispatch",
  summary: "Deliver this request's body to _url, or publish it to _topic (Hookah)",
  tags: ["deliveries", "topics"],
  parameters: parameters(...HOOKAH_QUERY, ...DISPATCH_CONTROL_PARAMETERS, PreferWaitParameter, ...PUBLISH_PARAMETERS),
  request: {
    body: {
      description: "form, multipart, JSON (with _url or _topic inside) or any raw body (with _url in the query)",
      content: {
        "application/x-www-form-urlencoded": { schema: HOOKAH_FIELDS },
        "multipart/form-data": { schema: HOOKAH_FIELDS },
        "application/json": { schema: HOOKAH_FIELDS },
        "*/*": { schema: { type: "string", format: "binary" } },
      },
    },
  },
  responses: {
    ...PUBLISH_RESPONSES,
    ...DELIVERY_ACCEPTED_RESPONSES,
    202: {
      description: "Stored durably: a delivery to _url ({id: dlv_…}), or an event on _topic ({id: evt_…, seq, topic})",
      content: { "application/json": { schema: DELIVERY_ACCEPTED_RESPONSES[202].content["application/json"].schema } },
    },
    ...AUTH_PROBLEMS,
  },
});

export const dispatchToRoute = createRoute({
  method: "post",
  path: "/dispatch/{target}",
  operationId: "dispatchTo",
  summary: "Forward the raw body to the base64url-encoded target URL (Hookah)",
  tags: ["deliveries"],
  parameters: parameters(
    {
      name: "target",
      in: "path",
      required: true,
      description: "base64url of the target URL",
      schema: { type: "string" },
    },
    IdempotencyKeyParameter,
    PreferWaitParameter,
    ...DISPATCH_CONTROL_PARAMETERS,
  ),
  request: { body: { content: { "*/*": { schema: { type: "string", format: "binary" } } } } },
  responses: DELIVERY_ACCEPTED_RESPONSES,
});
