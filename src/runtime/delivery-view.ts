import { z } from "zod";
import { deliveryInputOf, foldDelivery, persistDelivery, stateOf } from "../../actors/delivery.fold.ts";
import { fromBase64 } from "../domain/bytes.ts";
import { reportIdsOf } from "../domain/delivery-report.ts";
import { DELIVERY_SOURCES, type DeliveryCreated, type DeliveryTransition } from "../domain/delivery-events.ts";
import {
  AttemptFailedViewSchema,
  attemptRecordView,
  AttemptRecordViewSchema,
  AttemptRequestViewSchema,
  AttemptResponseViewSchema,
  AttemptStartedViewSchema,
  ManualRequestViewSchema,
  transitionDataView,
} from "../domain/delivery-event-views.ts";
import type { DeliveryStore, StoredCreated, StoredTransition } from "../nats/delivery-store.ts";
import { orWhenUnreadable } from "../nats/journal.ts";

/** A delivery as the API shows it: the state rebuilt by folding its journal, its attempts, its history. */

const HeaderMapSchema = z.record(z.string(), z.string());

export const AttemptViewSchema = z.object({
  attempt: z.number().int(),
  worker: z.string().nullable().describe("the hookd instance that made the attempt"),
  started_at: z.string().nullable(),
  finished_at: z.string().nullable(),
  outcome: z.enum(["in-flight", "succeeded", "failed"]),
  latency_ms: z.number().nullable(),
  request: AttemptRequestViewSchema.nullable(),
  response: AttemptResponseViewSchema.nullable(),
  error: z.string().nullable(),
  permanent: z.boolean(),
  retry_at: z.string().nullable(),
});
export type AttemptView = z.infer<typeof AttemptViewSchema>;

const DeliveryRequestViewSchema = z.object({
  method: z.string(),
  url: z.string(),
  headers: HeaderMapSchema,
  body_bytes: z.number().int().describe(
    "size of the body stored with the delivery (0 when it refers to a topic-log event)",
  ),
  body_ref: z.object({ topic_seq: z.number().int(), event_id: z.string() }).nullable().describe(
    "for fan-out: the topic-log event whose body is sent",
  ),
});

/** The data of the first history entry (delivery.created): the accepted request, without its body or secrets. */
const CreatedViewSchema = z.object({
  source: z.enum(DELIVERY_SOURCES),
  request: DeliveryRequestViewSchema,
  schedule_ms: z.array(z.number().int()).describe("the waits between attempts, fixed when the delivery was accepted"),
  signed: z.boolean(),
  idempotency_key: z.string().optional(),
  subscription_id: z.string().optional(),
});

const HistoryEntrySchema = z.object({
  seq: z.number().int().describe("JetStream sequence"),
  type: z.string(),
  at: z.string(),
  state: z.string(),
  data: z.union([
    CreatedViewSchema,
    AttemptStartedViewSchema,
    AttemptFailedViewSchema,
    AttemptRecordViewSchema,
    ManualRequestViewSchema,
  ]).describe("the event's data, in the API's snake_case names (delivery-event-views.ts)"),
});

export const DeliveryViewSchema = z.object({
  id: z.string(),
  state: z.enum(["pending", "in-flight", "backoff", "delivered", "failed", "cancelled"]),
  target: z.string(),
  method: z.string(),
  created_at: z.string(),
  updated_at: z.string(),
  attempts_made: z.number().int(),
  max_attempts: z.number().int().describe("attempts allowed in the current round (a manual retry starts a new round)"),
  next_attempt_at: z.string().nullable(),
  failure_reason: z.enum(["exhausted", "permanent"]).nullable(),
  signed: z.boolean(),
  idempotency_key: z.string().nullable(),
  request: DeliveryRequestViewSchema,
  subscription_id: z.string().nullable(),
  event_id: z.string().nullable().describe("for fan-out: the published event whose body this delivery sends"),
  callback_url: z.string().nullable().describe("told when the delivery is delivered or failed"),
  errback_url: z.string().nullable().describe("told if the delivery fails"),
  reports: z.array(z.string()).describe("the report deliveries made for this one's callback and errback, oldest first"),
  report_of: z.object({
    kind: z.enum(["callback", "errback"]),
    delivery_id: z.string().nullable(),
    subscription_id: z.string().nullable(),
  }).nullable().describe("for a report: the delivery (or disabled subscription) it reports on"),
  attempts: z.array(AttemptViewSchema),
  history: z
    .array(HistoryEntrySchema)
    .describe("the journal, oldest first: every event with the state it led to"),
  replay_mismatch: z.boolean().optional().describe(
    "present (true) only if folding the journal disagrees with the stored snapshot",
  ),
});
export type DeliveryView = z.infer<typeof DeliveryViewSchema>;

function describeCreated(created: DeliveryCreated): z.infer<typeof CreatedViewSchema> {
  const { request, schedule, secrets, source, idempotencyKey, subscriptionId } = created.data;
  return {
    source,
    request: {
      method: request.method,
      url: request.url,
      headers: request.headers,
      body_bytes: fromBase64(request.body).length,
      body_ref: created.data.bodyRef
        ? { topic_seq: created.data.bodyRef.topicSeq, event_id: created.data.bodyRef.eventId }
        : null,
    },
    schedule_ms: schedule,
    signed: secrets.length > 0,
    ...(idempotencyKey ? { idempotency_key: idempotencyKey } : {}),
    ...(subscriptionId ? { subscription_id: subscriptionId } : {}),
  };
}

/** Each attempt as its started event opened it and its outcome closed it, in attempt order. */
function attemptViews(transitions: StoredTransition[]): AttemptView[] {
  const attempts = new Map<number, AttemptView>();
  for (const { event } of transitions) {
    if (event.type === "attempt.started") {
      attempts.set(event.data.attempt, startedAttempt(event.data.attempt, event.data.worker ?? null, event.at));
    } else if (event.type === "attempt.succeeded" || event.type === "attempt.failed") {
      const view = attempts.get(event.data.attempt);
      if (view) finishAttempt(view, event);
    }
  }
  return [...attempts.values()].sort((a, b) => a.attempt - b.attempt);
}

function startedAttempt(attempt: number, worker: string | null, at: string): AttemptView {
  return {
    attempt,
    worker,
    started_at: at,
    finished_at: null,
    outcome: "in-flight",
    latency_ms: null,
    request: null,
    response: null,
    error: null,
    permanent: false,
    retry_at: null,
  };
}

function finishAttempt(
  view: AttemptView,
  event: Extract<DeliveryTransition, { type: "attempt.succeeded" | "attempt.failed" }>,
): void {
  const record = attemptRecordView(event.data);
  view.finished_at = event.at;
  view.outcome = event.type === "attempt.succeeded" ? "succeeded" : "failed";
  view.latency_ms = record.latency_ms;
  view.request = record.request;
  view.response = record.response;
  view.error = record.error;
  if (event.type === "attempt.failed") {
    view.permanent = event.data.permanent;
    view.retry_at = event.data.permanent ? null : event.data.retryAt;
  }
}

export function buildDeliveryView(created: StoredCreated, transitions: StoredTransition[]): DeliveryView {
  const data = created.event.data;
  const { snapshot, rejected } = foldDelivery(
    deliveryInputOf(created.event),
    transitions.map((t) => t.event),
  );
  const context = snapshot.context;
  // Decodes the stored body once, for both the request summary and the first history entry.
  const summary = describeCreated(created.event);
  const last = transitions.at(-1);
  const folded = persistDelivery(snapshot);
  const mismatch = rejected.length > 0 || (last !== undefined && JSON.stringify(last.after) !== JSON.stringify(folded));
  return {
    id: data.id,
    state: stateOf(snapshot),
    target: data.request.url,
    method: data.request.method,
    created_at: created.event.at,
    updated_at: last?.event.at ?? created.event.at,
    attempts_made: context.attempts,
    max_attempts: context.maxAttempts,
    next_attempt_at: stateOf(snapshot) === "backoff" && context.retryAt !== null
      ? new Date(context.retryAt).toISOString()
      : null,
    failure_reason: context.failureReason,
    signed: data.secrets.length > 0,
    idempotency_key: data.idempotencyKey ?? null,
    subscription_id: data.subscriptionId ?? null,
    event_id: data.bodyRef?.eventId ?? null,
    callback_url: data.callbackUrl ?? null,
    errback_url: data.errbackUrl ?? null,
    reports: [],
    report_of: data.reportOf
      ? {
        kind: data.reportOf.kind,
        delivery_id: data.reportOf.deliveryId ?? null,
        subscription_id: data.reportOf.subscriptionId ?? null,
      }
      : null,
    request: summary.request,
    attempts: attemptViews(transitions),
    history: [
      { seq: created.seq, type: created.event.type, at: created.event.at, state: "pending", data: summary },
      ...transitions.map((t) => ({
        seq: t.seq,
        type: t.event.type,
        at: t.event.at,
        state: t.after.state,
        data: transitionDataView(t.event),
      })),
    ],
    ...(mismatch ? { replay_mismatch: true } : {}),
  };
}

export async function loadDeliveryView(store: DeliveryStore, id: string): Promise<DeliveryView | null> {
  const created = await store.readCreated(id);
  if (!created) return null;
  const transitions = await store.readTransitions(id);
  const view = buildDeliveryView(created, transitions);
  view.reports = await reportsOf(store, created.event, transitions);
  return view;
}

/** The report deliveries that exist for each of the delivery's endings (their ids are derived, then looked up). */
async function reportsOf(
  store: DeliveryStore,
  created: DeliveryCreated,
  transitions: StoredTransition[],
): Promise<string[]> {
  if (created.data.reportOf || !(created.data.callbackUrl || created.data.errbackUrl)) return [];
  const ids: string[] = [];
  for (const candidate of await reportIdsOf(created, transitions)) {
    if (await reportExists(store, candidate)) ids.push(candidate);
  }
  return ids;
}

/** A report whose journal this hookd cannot read exists all the same: its own view says what is wrong with it. */
function reportExists(store: DeliveryStore, id: string): Promise<boolean> {
  return orWhenUnreadable(store.readJournaledCreated(id).then((created) => created !== null), () => true);
}
