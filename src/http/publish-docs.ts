import { createRoute, z } from "@hono/zod-openapi";
import {
  AUTH_PROBLEMS,
  IdempotencyKeyParameter,
  json,
  NO_TOKEN,
  type ParameterDoc,
  parameters,
  problems,
} from "./api-docs.ts";

/**
 * The OpenAPI definitions of publishing (publish.ts, and /dispatch with `_topic`): what a publish
 * takes besides its body, and what it answers. /pub/* routes on a wildcard, which the library's
 * paths cannot express, so publish.ts registers these beside its routes with registerPath.
 */

export const PublishedSchema = z.object({
  id: z.string().describe("the event id (evt_ + ULID); GET /api/v1/events/{id} reads it back"),
  seq: z.number().int().describe("its sequence in the topic log; streams resume from it"),
  topic: z.string(),
}).openapi("Published");

/** How a publish names its event type and asks for GitHub's envelope; shared with /dispatch. */
export const PUBLISH_PARAMETERS: ParameterDoc[] = [
  {
    name: "Hookd-Event-Type",
    in: "header",
    required: false,
    description: "the event's type, such as contact.create; subscriptions may filter on it",
    schema: { type: "string", pattern: "^[A-Za-z0-9._:/-]{1,128}$" },
  },
  {
    name: "type",
    in: "query",
    required: false,
    description: "the event's type, when no Hookd-Event-Type header is sent",
    schema: { type: "string" },
  },
  {
    name: "extra-metadata",
    in: "query",
    required: false,
    description: "github: store Hookbot's JSON envelope of GitHub's headers and the body",
    schema: { type: "string", enum: ["github"] },
  },
  {
    name: "X-Hub-Signature-256",
    in: "header",
    required: false,
    description: "GitHub's signature; required on topics guarded by a github.secrets rule",
    schema: { type: "string" },
  },
  IdempotencyKeyParameter,
];

export const PUBLISH_RESPONSES = {
  202: {
    ...json("Stored in the topic log; subscribers and streams get it", PublishedSchema),
    headers: {
      "Idempotent-Replayed": {
        description: "true when the Idempotency-Key was seen before and this is its first answer",
        schema: { type: "string" as const },
      },
    },
  },
  ...problems({
    400: "Invalid topic or event type (see field)",
    403: "The topic needs GitHub's signature, and it is missing or wrong",
    413: "Body over HOOKD_MAX_BODY (see limit)",
    422: "The Idempotency-Key was used for a different request (see conflicts)",
    503: "NATS unavailable; nothing was stored (see Retry-After)",
  }),
};

const TOPIC_PARAMETER: ParameterDoc = {
  name: "topic",
  in: "path",
  required: true,
  description: 'the topic: the rest of the path, "/"-separated, e.g. github.com/org/repo',
  schema: { type: "string" },
};

const ANY_BODY = {
  content: { "*/*": { schema: { type: "string" as const, format: "binary" } } },
  description: "the event's payload, stored as sent with its Content-Type",
};

/** `/pub/*` and `/unsafe/pub/*`, documented as `/pub/{topic}`: a topic is the rest of the path. */
export function publishRoute(prefix: "/pub/" | "/unsafe/pub/") {
  const unsafe = prefix === "/unsafe/pub/";
  return createRoute({
    method: "post",
    path: `${prefix}{topic}`,
    operationId: unsafe ? "publishUnsafe" : "publish",
    summary: unsafe
      ? "Publish to an /unsafe/ topic, without a token (Hookbot); only /unsafe/sub/ readers see it"
      : "Publish an event to a topic (Hookbot)",
    tags: ["topics"],
    ...(unsafe ? { security: NO_TOKEN } : {}),
    parameters: parameters(TOPIC_PARAMETER, ...PUBLISH_PARAMETERS),
    request: { body: ANY_BODY },
    responses: unsafe ? PUBLISH_RESPONSES : { ...PUBLISH_RESPONSES, ...AUTH_PROBLEMS },
  });
}
