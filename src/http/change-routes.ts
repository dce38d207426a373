import { createRoute } from "@hono/zod-openapi";
import type { Context } from "hono";
import { z } from "zod";
import { ChangeFilterSchema } from "../domain/delivery-changes.ts";
import { parseStreamStart, StreamStartError } from "../domain/stream-start.ts";
import type { DeliveryChangeFeed } from "../nats/delivery-change-feed.ts";
import type { ConsoleServices } from "../runtime/console-services.ts";
import { type ApiApp, AUTH_PROBLEMS, defineRoute, parameters, problems } from "./api-docs.ts";
import { openSse, sseChangeOutput, sseHeadAnswer } from "./change-sse.ts";
import { watchConnection } from "./connection-watch.ts";
import { badRequest } from "./problem.ts";
import { query } from "./query.ts";
import { DeliveryStateSchema } from "../runtime/delivery-state.ts";
import type { StreamRouteDeps } from "./stream-routes.ts";
import { utf8 } from "../domain/bytes.ts";
import { requestToken } from "./auth.ts";
import { TooManyStreamsError } from "../runtime/token-slots.ts";
import { tooManyStreams } from "./stream-routes.ts";
import { ssePosition, type StreamEnd } from "../domain/stream-frames.ts";
import type { ChangeOutput } from "../runtime/change-listener.ts";

/**
 * GET /api/v1/deliveries/changes: every delivery's transitions as Server-Sent Events while they are
 * journaled, from the instance's one shared change feed. Each event's id is its journal sequence, so
 * Last-Event-ID (or ?since=) resumes without a gap.
 */

export const ChangeQuerySchema = ChangeFilterSchema.extend({
  state: DeliveryStateSchema.optional().describe("changes into this state, or out of it"),
  since: z.string().optional().describe(
    "start after this journal sequence, or at an ISO 8601 time; default now (Last-Event-ID wins)",
  ),
});

export const changesRoute = createRoute({
  method: "get",
  path: "/api/v1/deliveries/changes",
  operationId: "streamDeliveryChanges",
  summary: "Delivery transitions as they are journaled (Server-Sent Events)",
  description: "Each `delivery.change` event's data is one transition: `seq`, `delivery_id`, `from` (null for " +
    "a creation), `to`, `event`, `at`, `target_host`, `subscription_id`, and for an attempt's outcome `status` and " +
    "`latency_ms`. Filters narrow what is sent; the id still moves past what is filtered out (an id-only event), " +
    "so a reconnect with Last-Event-ID skips it. A listener that reads too slowly is ended with a " +
    "`hookd.disconnect` event naming its last id.",
  tags: ["deliveries"],
  middleware: [query(ChangeQuerySchema)] as const,
  request: { query: ChangeQuerySchema },
  parameters: parameters({
    name: "Last-Event-ID",
    in: "header",
    required: false,
    description: "resume after this journal sequence (EventSource sends it on reconnecting)",
    schema: { type: "string" },
  }),
  responses: {
    200: {
      description: "id: <journal sequence>, event: delivery.change, data: the change as JSON",
      content: { "text/event-stream": { schema: { type: "string" as const } } },
    },
    ...problems({
      400: "Bad filter, since or Last-Event-ID",
      429: "Too many open streams for this token (see limit, Retry-After)",
      503: "NATS unavailable",
    }),
    ...AUTH_PROBLEMS,
  },
});

export type ChangeRouteDeps = {
  console: ConsoleServices;
  feed: Pick<DeliveryChangeFeed, "seqBefore">;
  bufferBytes: number;
  clock: () => number;
  openNativeStream?: StreamRouteDeps["openNativeStream"];
};

async function startAfter(c: Context, deps: ChangeRouteDeps, since: string | undefined): Promise<number | null> {
  let start;
  try {
    start = parseStreamStart({ lastEventId: c.req.header("last-event-id"), since }, deps.clock());
  } catch (error) {
    if (!(error instanceof StreamStartError)) throw error;
    throw badRequest(error.message, { field: c.req.header("last-event-id") ? "Last-Event-ID" : "since" });
  }
  if (start.kind === "after-seq") return start.seq;
  return start.kind === "at-time" ? await deps.feed.seqBefore(start.at) : null;
}

/** An output that holds nothing until bound: a listener sends only after catchUp(), and an early end is kept. */
function lateOutput(): { output: ChangeOutput; bind(inner: ChangeOutput): void } {
  let inner: ChangeOutput | null = null;
  let pendingEnd: StreamEnd | null = null;
  return {
    output: {
      send: (changes) => inner?.send(changes),
      buffered: () => inner?.buffered() ?? 0,
      heartbeat: (position) => inner?.heartbeat(position),
      end: (end) => (inner ? inner.end(end) : (pendingEnd = end)),
    },
    bind(target) {
      inner = target;
      if (pendingEnd) target.end(pendingEnd);
    },
  };
}

export function mountChangeRoutes(app: ApiApp, deps: ChangeRouteDeps): void {
  defineRoute(app, changesRoute, async (c) => {
    const { since, ...filter } = c.req.valid("query");
    const after = await startAfter(c, deps, since);
    if (c.req.method === "HEAD") return sseHeadAnswer();
    const connection = watchConnection(c);
    // Opened before the response, so a refusal (NATS away) is still an HTTP error; the SSE output is bound after.
    const late = lateOutput();
    const token = requestToken(c) ?? "";
    const listener = await deps.console.openChanges({ filter, after, token }, late.output, connection.signal)
      .catch((error) => {
        connection.dispose();
        throw error instanceof TooManyStreamsError ? tooManyStreams(error) : error;
      });
    const { transport, response } = openSse(c, deps.bufferBytes, deps.openNativeStream);
    transport.write(utf8(`retry: 1000\n: hookd delivery changes\n\n${ssePosition(listener.position)}`));
    late.bind(sseChangeOutput(transport));
    transport.onClose(() => {
      listener.close();
      connection.dispose();
    });
    if (transport.isClosed() || listener.closed) {
      listener.close();
      connection.dispose();
    }
    void listener.catchUp();
    return response();
  });
}
