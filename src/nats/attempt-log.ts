import type { JetStreamManager } from "@nats-io/jetstream";
import type { AttemptRecord, AttemptResolved } from "../domain/delivery-events.ts";
import { Journal } from "./journal.ts";
import type { JetStreamLayout } from "./layout.ts";
import type { JetStreamPublisher } from "./jetstream-publisher.ts";

/**
 * Each subscription's recent resolved attempts, newest first, for GET /api/v1/subscriptions/<id>/attempts.
 * The stream keeps the last ATTEMPTS_KEPT (layout.ts) per subscription; every attempt also stays in
 * its delivery's journal.
 */

export type SubscriptionAttempt = {
  delivery_id: string;
  attempt: number;
  at: string;
  outcome: "succeeded" | "failed";
  latency_ms: number;
  request: AttemptRecord["request"];
  response: { status: number; headers: Record<string, string>; body: string; body_truncated: boolean } | null;
  error: string | null;
};

export class AttemptLog {
  readonly #journal: Journal;
  readonly #subject: (subscriptionId: string) => string;

  constructor(jsm: JetStreamManager, publisher: JetStreamPublisher, layout: JetStreamLayout) {
    this.#journal = new Journal(jsm, layout.streams.attempts, publisher);
    this.#subject = layout.subjects.attempts;
  }

  async record(subscriptionId: string, resolved: ResolvedAttempt): Promise<void> {
    const attempt = summarizeAttempt(resolved.deliveryId, resolved.outcome);
    await this.#journal.append(this.#subject(subscriptionId), new TextEncoder().encode(JSON.stringify(attempt)));
  }

  async recent(subscriptionId: string, limit: number): Promise<SubscriptionAttempt[]> {
    const entries = await this.#journal.readAll(this.#subject(subscriptionId));
    return entries
      .map((entry) => JSON.parse(new TextDecoder().decode(entry.data)) as SubscriptionAttempt)
      .reverse()
      .slice(0, limit);
  }
}

/** A resolved attempt of one of a subscription's deliveries, as the delivery worker reports it. */
export type ResolvedAttempt = { deliveryId: string; outcome: AttemptResolved };

/** The API's snake_case view of an attempt; the delivery's journal keeps the whole event. */
export function summarizeAttempt(deliveryId: string, outcome: AttemptResolved): SubscriptionAttempt {
  const { data } = outcome;
  const response = data.response;
  return {
    delivery_id: deliveryId,
    attempt: data.attempt,
    at: outcome.at,
    outcome: outcome.type === "attempt.succeeded" ? "succeeded" : "failed",
    latency_ms: data.latencyMs,
    request: data.request,
    response: response
      ? {
        status: response.status,
        headers: response.headers,
        body: response.body,
        body_truncated: response.bodyTruncated,
      }
      : null,
    error: data.error ?? null,
  };
}
