import type { JetStreamManager } from "@nats-io/jetstream";
import type { AttemptResolved } from "../domain/delivery-events.ts";
import { attemptRecordView, type AttemptSummary } from "../domain/delivery-event-views.ts";
import { Journal } from "./journal.ts";
import type { JetStreamLayout } from "./layout.ts";
import type { JetStreamPublisher } from "./jetstream-publisher.ts";

/**
 * Each subscription's recent resolved attempts, newest first, for GET /api/v1/subscriptions/<id>/attempts.
 * The stream keeps the last ATTEMPTS_KEPT (layout.ts) per subscription; every attempt also stays in
 * its delivery's journal.
 */

export type SubscriptionAttempt = AttemptSummary;

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

/**
 * The API's view of an attempt, in the same names a delivery's history uses (delivery-event-views.ts);
 * the delivery's journal keeps the whole event. Stored as is, so its field order is part of the contract.
 */
export function summarizeAttempt(deliveryId: string, outcome: AttemptResolved): SubscriptionAttempt {
  const view = attemptRecordView(outcome.data);
  return {
    delivery_id: deliveryId,
    attempt: view.attempt,
    at: outcome.at,
    outcome: outcome.type === "attempt.succeeded" ? "succeeded" : "failed",
    latency_ms: view.latency_ms,
    request: view.request,
    response: view.response,
    error: view.error,
  };
}
