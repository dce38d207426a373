import { createRoute, z } from "@hono/zod-openapi";
import { utf8 } from "../domain/bytes.ts";
import { SSE_HEARTBEAT } from "../domain/stream-frames.ts";
import { type ApiApp, AUTH_PROBLEMS, defineRoute, json, problems } from "./api-docs.ts";
import { type ConsoleSseRouteDeps, openSse, sseHeadAnswer } from "./change-sse.ts";
import { NoQuerySchema, query } from "./query.ts";

/**
 * GET /api/v1/fleet: deliveries per state now, and the last minutes' flow (states entered,
 * transitions, per target host success rate and latency by minute), as every instance counts them
 * from the journal. GET /api/v1/fleet/stream sends the same figures as SSE whenever they move, at
 * most once a second, so a page keeps them live without asking.
 */

const Rate = z.number().nullable().describe("succeeded / attempts; null with no attempts");
const Millis = z.number().nullable().describe("the upper bound of the latency histogram bin holding the percentile");

export const FleetSchema = z.object({
  states: z.record(z.string(), z.number().int()).describe("deliveries in each state now"),
  position: z.number().int().describe("the journal sequence these figures include changes up to"),
  window_complete: z.boolean().describe(
    "false while the instance still reads the window back from the journal (the first request after a start): the flow figures cover only part of it",
  ),
  window_minutes: z.number().int(),
  from: z.string().describe("start of the window's first minute"),
  to: z.string(),
  entered: z.record(z.string(), z.number().int()).describe("deliveries that entered each state in the window"),
  transitions: z.array(z.object({
    from: z.string().nullable(),
    event: z.string(),
    to: z.string(),
    count: z.number().int(),
  })).describe("each transition (from, event, to) in the window, most frequent first (from null: created)"),
  hosts: z.array(z.object({
    host: z.string().describe('host[:port]; "(other)" past HOOKD_FLEET_HOSTS'),
    attempts: z.number().int(),
    succeeded: z.number().int(),
    failed: z.number().int(),
    success_rate: Rate,
    p50_ms: Millis,
    p95_ms: Millis,
    minutes: z.array(z.object({
      start: z.string(),
      attempts: z.number().int(),
      succeeded: z.number().int(),
      success_rate: Rate,
      p50_ms: Millis,
      p95_ms: Millis,
    })),
  })),
  minutes: z.array(z.object({ start: z.string(), entered: z.record(z.string(), z.number().int()) })),
}).openapi("Fleet");

const fleetRoute = createRoute({
  method: "get",
  path: "/api/v1/fleet",
  operationId: "getFleet",
  summary: "Deliveries per state, and the last minutes' transitions and per-host success and latency",
  tags: ["deliveries"],
  middleware: [query(NoQuerySchema)] as const,
  responses: {
    200: json("The fleet's figures", FleetSchema),
    ...problems({ 503: "NATS unavailable" }),
    ...AUTH_PROBLEMS,
  },
});

const fleetStreamRoute = createRoute({
  method: "get",
  path: "/api/v1/fleet/stream",
  operationId: "streamFleet",
  summary: "The fleet's figures as Server-Sent Events, whenever they move (at most once a second)",
  tags: ["deliveries"],
  middleware: [query(NoQuerySchema)] as const,
  responses: {
    200: {
      description: "event: fleet, data: the figures as GET /api/v1/fleet answers them",
      content: { "text/event-stream": { schema: { type: "string" as const } } },
    },
    ...AUTH_PROBLEMS,
  },
});

export function mountFleetRoutes(app: ApiApp, deps: ConsoleSseRouteDeps): void {
  defineRoute(app, fleetRoute, async (c) => c.json(await deps.console.fleet(), 200));
  defineRoute(app, fleetStreamRoute, async (c) => {
    const first = await deps.console.fleet();
    if (c.req.method === "HEAD") return sseHeadAnswer();
    const { transport, response } = openSse(c, deps.bufferBytes, deps.openNativeStream);
    let sending = false;
    const send = async (figures?: unknown) => {
      // A client that is not reading gets no more: the next figures replace what it missed.
      if (sending || transport.isClosed() || transport.buffered() > deps.bufferBytes) return;
      sending = true;
      try {
        const data = figures ?? await deps.console.fleet();
        transport.write(utf8(`event: fleet\ndata: ${JSON.stringify(data)}\n\n`));
      } catch {
        // NATS away for the state count: the next move tries again.
      } finally {
        sending = false;
      }
    };
    transport.write(utf8("retry: 1000\n\n"));
    void send(first);
    const unwatch = deps.console.watchFleet(() => void send());
    const heartbeat = setInterval(
      () => !transport.isClosed() && transport.write(utf8(SSE_HEARTBEAT)),
      deps.heartbeatMs,
    );
    deps.sseResponses.add(transport, () => {
      unwatch();
      clearInterval(heartbeat);
    });
    return response();
  });
}
