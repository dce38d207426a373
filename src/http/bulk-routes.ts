import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { utf8 } from "../domain/bytes.ts";
import { BULK_ACTIONS } from "../domain/bulk-jobs.ts";
import { SSE_HEARTBEAT } from "../domain/stream-frames.ts";
import { BulkJobTooLargeError } from "../runtime/bulk-jobs.ts";
import { DeliveryFilterSchema } from "../runtime/delivery-filter.ts";
import { type ApiApp, AUTH_PROBLEMS, bodyRef, defineRoute, IdParamsSchema, json, problems } from "./api-docs.ts";
import { type ConsoleSseRouteDeps, endSse, openSse, sseHeadAnswer } from "./change-sse.ts";
import { readJsonBody } from "./json-body.ts";
import { ProblemError } from "./problem.ts";
import { NoQuerySchema, query } from "./query.ts";

/**
 * Bulk actions: POST /api/v1/deliveries/bulk retries or cancels every delivery a filter matches
 * (dry_run: only counts them), as a background job journaled in NATS that another instance takes
 * over if its own dies; GET /api/v1/bulk/<id> reports it from any instance, DELETE (or POST …/cancel)
 * stops it, GET …/events follows it as SSE.
 */

export const BulkRequestSchema = z.object({
  action: z.enum(BULK_ACTIONS, { error: `action must be one of ${BULK_ACTIONS.join(", ")}` }),
  filter: DeliveryFilterSchema.refine(
    // target_host_exact only qualifies target_host: alone it would match every delivery.
    (filter) => Object.entries(filter).some(([key, value]) => key !== "target_host_exact" && value !== undefined),
    "filter must name at least one field (state, target_host, subscription_id, topic, event_type, created_after, created_before, changed_after, changed_before)",
  ),
  dry_run: z.boolean().default(false).describe("only count the deliveries the filter matches"),
}).strict();

export const BulkJobSchemaDoc = z.object({
  id: z.string(),
  action: z.enum(BULK_ACTIONS),
  filter: z.record(z.string(), z.unknown()),
  state: z.enum(["running", "done", "cancelled", "failed", "interrupted"])
    .describe(
      "interrupted: unfinished, and not renewed for a minute: its instance stopped and no live instance took it over",
    ),
  total: z.number().int().describe("deliveries the filter matched when the job started"),
  done: z.number().int(),
  failed: z.number().int(),
  errors: z.array(z.object({ delivery_id: z.string(), error: z.string() })).describe("the first failures' reasons"),
  cancel_requested: z.boolean(),
  instance: z.string().describe("the hookd instance running it (after a takeover, the one that took it over)"),
  cursor: z.number().int().describe("how many of the job's deliveries, in the order it resolved them, were acted on"),
  heartbeat_at: z.string().nullable().describe("when its runner last renewed it (it does while it runs)"),
  taken_over: z.boolean().describe("another instance took the job over after the one running it stopped"),
  takeovers: z.array(z.object({
    from: z.string().describe("the instance that stopped renewing the job"),
    instance: z.string().describe("the instance that took it over"),
    at: z.string(),
    cursor: z.number().int().describe("where the job stood then"),
  })),
  created_at: z.string(),
  updated_at: z.string(),
  finished_at: z.string().nullable(),
  reason: z.string().nullable().describe("why the job failed as a whole"),
}).openapi("BulkJob");

const DryRunSchema = z.object({
  dry_run: z.literal(true),
  action: z.enum(BULK_ACTIONS),
  count: z.number().int(),
  truncated: z.boolean().describe("more match than HOOKD_BULK_MAX: a job would be refused"),
}).openapi("BulkDryRun");

const NOT_FOUND = problems({ 404: "No such bulk job" });

const startRoute = createRoute({
  method: "post",
  path: "/api/v1/deliveries/bulk",
  operationId: "startBulkAction",
  summary: "Retry or cancel every delivery a filter matches (or count them: dry_run)",
  tags: ["deliveries"],
  middleware: [query(NoQuerySchema)] as const,
  request: {
    body: { required: true, content: { "application/json": { schema: bodyRef("BulkRequest", BulkRequestSchema) } } },
  },
  responses: {
    200: json("dry_run: how many deliveries match", DryRunSchema),
    202: {
      ...json("The job, started in the background", BulkJobSchemaDoc),
      headers: { Location: { description: "the job's URL", schema: { type: "string" as const } } },
    },
    ...problems({ 400: "Bad action or filter", 422: "The filter matches more than HOOKD_BULK_MAX deliveries" }),
    ...problems({ 503: "NATS unavailable" }),
    ...AUTH_PROBLEMS,
  },
});

const getRoute = createRoute({
  method: "get",
  path: "/api/v1/bulk/{id}",
  operationId: "getBulkJob",
  summary: "A bulk job's progress",
  tags: ["deliveries"],
  middleware: [query(NoQuerySchema)] as const,
  request: { params: IdParamsSchema },
  responses: { 200: json("The job", BulkJobSchemaDoc), ...NOT_FOUND, ...AUTH_PROBLEMS },
});

const cancelResponses = { 200: json("Cancel requested (a finished job is unchanged)", BulkJobSchemaDoc), ...NOT_FOUND };

const deleteRoute = createRoute({
  method: "delete",
  path: "/api/v1/bulk/{id}",
  operationId: "cancelBulkJob",
  summary: "Stop a bulk job after the deliveries in hand",
  tags: ["deliveries"],
  middleware: [query(NoQuerySchema)] as const,
  request: { params: IdParamsSchema },
  responses: { ...cancelResponses, ...AUTH_PROBLEMS },
});

const cancelRoute = createRoute({
  method: "post",
  path: "/api/v1/bulk/{id}/cancel",
  operationId: "cancelBulkJobByPost",
  summary: "Stop a bulk job (the same as DELETE, for forms)",
  tags: ["deliveries"],
  middleware: [query(NoQuerySchema)] as const,
  request: { params: IdParamsSchema },
  responses: { ...cancelResponses, ...AUTH_PROBLEMS },
});

const eventsRoute = createRoute({
  method: "get",
  path: "/api/v1/bulk/{id}/events",
  operationId: "streamBulkJob",
  summary: "A bulk job's progress as Server-Sent Events, until it finishes",
  tags: ["deliveries"],
  middleware: [query(NoQuerySchema)] as const,
  request: { params: IdParamsSchema },
  responses: {
    200: {
      description:
        "event: bulk-job, data: the job as GET /api/v1/bulk/{id} answers it; the stream ends when it finishes",
      content: { "text/event-stream": { schema: { type: "string" as const } } },
    },
    ...NOT_FOUND,
    ...AUTH_PROBLEMS,
  },
});

function tooLarge(error: BulkJobTooLargeError): ProblemError {
  return new ProblemError({
    status: 422,
    kind: "bulk-too-large",
    title: "The filter matches too many deliveries",
    detail: `${error.message} Narrow the filter (a time range, a target host), or raise HOOKD_BULK_MAX.`,
    extra: { limit: error.limit },
  });
}

async function startBulk(c: Context, deps: ConsoleSseRouteDeps): Promise<Response> {
  const body = await readJsonBody(c, BulkRequestSchema, {
    notJson: 'The body must be a JSON object such as {"action": "retry", "filter": {"state": "failed"}}.',
  });
  if (body.dry_run) {
    const { count, truncated } = await deps.console.countDeliveries(body.filter);
    return c.json({ dry_run: true, action: body.action, count, truncated }, 200);
  }
  const job = await deps.console.startBulkAction(body.action, body.filter);
  return c.json(job, 202, { location: `/api/v1/bulk/${job.id}` });
}

async function followJob(c: Context, deps: ConsoleSseRouteDeps, id: string): Promise<Response> {
  // A 404 before the stream starts.
  await deps.console.bulkJob(id);
  if (c.req.method === "HEAD") return sseHeadAnswer();
  const { transport, response } = openSse(c, deps.bufferBytes, deps.openNativeStream);
  transport.write(utf8("retry: 1000\n\n"));
  let stop: () => void = () => undefined;
  const heartbeat = setInterval(() => !transport.isClosed() && transport.write(utf8(SSE_HEARTBEAT)), deps.heartbeatMs);
  deps.sseResponses.add(transport, () => {
    clearInterval(heartbeat);
    stop();
  });
  stop = await deps.console.watchBulkJob(id, (job) => {
    const frame = `event: bulk-job\ndata: ${JSON.stringify(job)}\n\n`;
    if (job.state !== "running") {
      clearInterval(heartbeat);
      return endSse(transport, frame);
    }
    if (!transport.isClosed()) transport.write(utf8(frame));
  });
  if (transport.isClosed()) stop();
  return response();
}

export function mountBulkRoutes(app: ApiApp, deps: ConsoleSseRouteDeps): void {
  defineRoute(app, startRoute, async (c) => {
    try {
      return await startBulk(c, deps);
    } catch (error) {
      throw error instanceof BulkJobTooLargeError ? tooLarge(error) : error;
    }
  });
  defineRoute(app, getRoute, async (c) => c.json(await deps.console.bulkJob(c.req.param("id")), 200));
  defineRoute(app, deleteRoute, async (c) => c.json(await deps.console.cancelBulkJob(c.req.param("id")), 200));
  defineRoute(app, cancelRoute, async (c) => c.json(await deps.console.cancelBulkJob(c.req.param("id")), 200));
  defineRoute(app, eventsRoute, (c) => followJob(c, deps, c.req.param("id")));
}
