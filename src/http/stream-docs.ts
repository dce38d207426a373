import { createRoute } from "@hono/zod-openapi";
import { AUTH_PROBLEMS, NO_TOKEN, type ParameterDoc, parameters, problems, STREAM_TOKEN } from "./api-docs.ts";

/**
 * The OpenAPI definitions of reading topics (stream-routes.ts): WebSocket, Server-Sent Events and
 * JSON lines. /sub/*, /sse/* and /unsafe/sub/* route on a wildcard (a topic is the rest of the
 * path), which the library's paths cannot express, so stream-routes.ts registers those beside its
 * routes with registerPath, as `/sub/{topic}` and so on.
 */

const TOPIC: ParameterDoc = {
  name: "topic",
  in: "path",
  required: true,
  description: 'the topic: the rest of the path, "/"-separated; end it in "/" to read every topic below it',
  schema: { type: "string" },
};

const RESUME: ParameterDoc[] = [
  {
    name: "since",
    in: "query",
    required: false,
    description: "start from this topic-log sequence, or a duration back (10m) or a time (ISO 8601)",
    schema: { type: "string" },
  },
  {
    name: "Last-Event-ID",
    in: "header",
    required: false,
    description: "resume after this sequence (EventSource sends it on reconnecting)",
    schema: { type: "string" },
  },
  {
    name: "format",
    in: "query",
    required: false,
    description: "raw: the body as the data (default for one topic); json: an envelope with seq, topic, type, body",
    schema: { type: "string", enum: ["raw", "json"] },
  },
];

const STREAMS = {
  "text/event-stream": { schema: { type: "string" as const, description: "id: <seq>, event: <type>, data: <body>" } },
  "application/x-ndjson": { schema: { type: "string" as const, description: "one JSON envelope per line" } },
};

const STREAM_PROBLEMS = {
  ...problems({
    400: "Invalid topic, since or format (see field)",
    406: "Say how to stream: Upgrade: websocket, Accept: text/event-stream or Accept: application/x-ndjson",
    429: "Too many open streams for this token (see limit, Retry-After)",
  }),
  ...AUTH_PROBLEMS,
};

/** GET /sub/{topic} and /unsafe/sub/{topic}: the transport is the one the request asks for. */
export function subscribeRoute(prefix: "/sub/" | "/unsafe/sub/") {
  const unsafe = prefix === "/unsafe/sub/";
  const consent: ParameterDoc = {
    name: "X-Hookbot-Unsafe-Is-Ok",
    in: "header",
    required: true,
    description: "must be: I understand the security implications",
    schema: { type: "string" },
  };
  return createRoute({
    method: "get",
    path: `${prefix}{topic}`,
    operationId: unsafe ? "subscribeUnsafe" : "subscribe",
    summary: `Read ${
      unsafe ? "an /unsafe/ topic" : "a topic"
    } live: WebSocket, Server-Sent Events or JSON lines (Hookbot)`,
    tags: ["topics"],
    security: STREAM_TOKEN,
    parameters: parameters(TOPIC, ...RESUME, ...(unsafe ? [consent] : [])),
    responses: {
      101: { description: "WebSocket (on Upgrade: websocket): one message per event" },
      200: { description: "The topic's events as they are published", content: STREAMS },
      ...STREAM_PROBLEMS,
    },
  });
}

export const sseRoute = createRoute({
  method: "get",
  path: "/sse/{topic}",
  operationId: "subscribeSse",
  summary: "Read a topic as Server-Sent Events, whatever the Accept header (needs the /sub/ token)",
  tags: ["topics"],
  security: STREAM_TOKEN,
  parameters: parameters(TOPIC, ...RESUME),
  responses: {
    200: { description: "The topic's events", content: { "text/event-stream": STREAMS["text/event-stream"] } },
    ...STREAM_PROBLEMS,
  },
});

export const streamRoute = createRoute({
  method: "get",
  path: "/stream",
  operationId: "streamJsonLines",
  summary: "Read a topic as JSON lines (needs the /sub/ token for the topic)",
  tags: ["topics"],
  security: STREAM_TOKEN,
  parameters: parameters(
    {
      name: "topic",
      in: "query",
      required: true,
      description: 'the topic; end it in "/" for all below',
      schema: { type: "string" },
    },
    ...RESUME,
  ),
  responses: {
    200: {
      description: "One JSON envelope per line",
      content: { "application/x-ndjson": STREAMS["application/x-ndjson"] },
    },
    ...STREAM_PROBLEMS,
  },
});

export const statusRoute = createRoute({
  method: "get",
  path: "/status",
  operationId: "getStatus",
  summary: "Hookbot's liveness check: OK",
  tags: ["meta"],
  security: NO_TOKEN,
  responses: { 200: { description: "OK", content: { "text/plain": { schema: { type: "string" as const } } } } },
});
