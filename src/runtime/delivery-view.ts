import { persistDelivery, replayDelivery, stateOf } from "../../actors/delivery.fold.ts";
import { fromBase64 } from "../domain/bytes.ts";
import type { DeliveryCreated } from "../domain/delivery-events.ts";
import type { DeliveryStore, StoredCreated, StoredTransition } from "../nats/delivery-store.ts";

/** A delivery as the API shows it: the state rebuilt by replaying its journal, its attempts, its history. */

export type AttemptView = {
  attempt: number;
  worker: string | null;
  started_at: string | null;
  finished_at: string | null;
  outcome: "in-flight" | "succeeded" | "failed";
  latency_ms: number | null;
  request: { method: string; url: string; headers: Record<string, string> } | null;
  response: { status: number; headers: Record<string, string>; body: string; body_truncated: boolean } | null;
  error: string | null;
  permanent: boolean;
  retry_at: string | null;
};

export type DeliveryView = {
  id: string;
  state: string;
  target: string;
  method: string;
  created_at: string;
  updated_at: string;
  attempts_made: number;
  max_attempts: number;
  next_attempt_at: string | null;
  failure_reason: string | null;
  signed: boolean;
  idempotency_key: string | null;
  request: { method: string; url: string; headers: Record<string, string>; body_bytes: number };
  attempts: AttemptView[];
  history: { seq: number; type: string; at: string; state: string; data: unknown }[];
  /** True when replaying the journal disagrees with the snapshot the last event stored (should never happen). */
  replay_mismatch?: boolean;
};

function describeCreated(created: DeliveryCreated) {
  const { request, schedule, secrets, source, idempotencyKey } = created.data;
  return {
    source,
    request: { method: request.method, url: request.url, headers: request.headers, body_bytes: fromBase64(request.body).length },
    schedule_ms: schedule,
    signed: secrets.length > 0,
    ...(idempotencyKey ? { idempotency_key: idempotencyKey } : {}),
  };
}

export function buildDeliveryView(created: StoredCreated, transitions: StoredTransition[]): DeliveryView {
  const data = created.event.data;
  const { snapshot, rejected } = replayDelivery({ id: data.id, maxAttempts: data.schedule.length + 1 }, transitions.map((t) => t.event));
  const context = snapshot.context;
  const attempts = new Map<number, AttemptView>();
  for (const { event } of transitions) {
    if (event.type === "attempt.started") {
      attempts.set(event.data.attempt, {
        attempt: event.data.attempt,
        worker: event.data.worker ?? null,
        started_at: event.at,
        finished_at: null,
        outcome: "in-flight",
        latency_ms: null,
        request: null,
        response: null,
        error: null,
        permanent: false,
        retry_at: null,
      });
    } else if (event.type === "attempt.succeeded" || event.type === "attempt.failed") {
      const view = attempts.get(event.data.attempt);
      if (!view) continue;
      view.finished_at = event.at;
      view.outcome = event.type === "attempt.succeeded" ? "succeeded" : "failed";
      view.latency_ms = event.data.latencyMs;
      view.request = event.data.request;
      view.response = event.data.response
        ? { status: event.data.response.status, headers: event.data.response.headers, body: event.data.response.body, body_truncated: event.data.response.bodyTruncated }
        : null;
      view.error = event.data.error ?? null;
      if (event.type === "attempt.failed") {
        view.permanent = event.data.permanent;
        view.retry_at = event.data.permanent ? null : event.data.retryAt;
      }
    }
  }
  const last = transitions.at(-1);
  const replayed = persistDelivery(snapshot);
  const mismatch = rejected.length > 0 || (last !== undefined && JSON.stringify(last.after) !== JSON.stringify(replayed));
  return {
    id: data.id,
    state: stateOf(snapshot),
    target: data.request.url,
    method: data.request.method,
    created_at: created.event.at,
    updated_at: last?.event.at ?? created.event.at,
    attempts_made: context.attempts,
    max_attempts: context.maxAttempts,
    next_attempt_at: stateOf(snapshot) === "backoff" && context.retryAt !== null ? new Date(context.retryAt).toISOString() : null,
    failure_reason: context.failureReason,
    signed: data.secrets.length > 0,
    idempotency_key: data.idempotencyKey ?? null,
    request: describeCreated(created.event).request,
    attempts: [...attempts.values()].sort((a, b) => a.attempt - b.attempt),
    history: [
      { seq: created.seq, type: created.event.type, at: created.event.at, state: "pending", data: describeCreated(created.event) },
      ...transitions.map((t) => ({ seq: t.seq, type: t.event.type, at: t.event.at, state: t.after.state, data: t.event.data })),
    ],
    ...(mismatch ? { replay_mismatch: true } : {}),
  };
}

export async function loadDeliveryView(store: DeliveryStore, id: string): Promise<DeliveryView | null> {
  const created = await store.readCreated(id);
  if (!created) return null;
  return buildDeliveryView(created, await store.readTransitions(id));
}
