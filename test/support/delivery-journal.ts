import { jetstream, type JetStreamManager, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import {
  applyDeliveryEvent,
  type DeliverySnapshot,
  initialDelivery,
  persistDelivery,
} from "../../actors/delivery.fold.ts";
import type { DeliveryState } from "../../actors/delivery.machine.ts";
import type { DeliveryCreated, DeliveryTransition } from "../../src/domain/delivery-events.ts";
import { tagsOf } from "../../src/nats/delivery-change-headers.ts";
import { DeliveryStore, type TransitionStep } from "../../src/nats/delivery-store.ts";

/** What a journal written by a test says in its change headers when no created event is at hand. */
export const UNTAGGED = { targetHost: null, subscriptionId: null };
import { ensureStreams } from "../../src/nats/ensure-streams.ts";
import { JetStreamPublisher } from "../../src/nats/jetstream-publisher.ts";
import { createLayout, type JetStreamLayout } from "../../src/nats/layout.ts";

/**
 * Writes deliveries straight into a real journal through hookd's own store (created event, then the
 * transitions a worker would append, each with the snapshot the delivery machine gives), so a test or
 * a bench can have thousands of deliveries in any state without sending a webhook.
 */

export const SETTINGS = {
  journalMaxAgeMs: 30 * 24 * 3_600_000,
  topicMaxAgeMs: 7 * 24 * 3_600_000,
  idempotencyWindowMs: 24 * 3_600_000,
  ackWaitMs: 30_000,
  maxAckPending: 1_000,
};

export type JournalParts = {
  store: DeliveryStore;
  publisher: JetStreamPublisher;
  layout: JetStreamLayout;
  jsm: JetStreamManager;
};

/** hookd's streams on `nc` (created as a start would), and a store writing to them. */
export async function openJournal(nc: NatsConnection): Promise<JournalParts> {
  const layout = createLayout();
  const jsm = await jetstreamManager(nc);
  await ensureStreams(jsm, layout, SETTINGS);
  const publisher = new JetStreamPublisher(nc);
  return { store: new DeliveryStore(jetstream(nc), jsm, publisher, layout), publisher, layout, jsm };
}

export type JournaledDelivery = {
  id: string;
  url: string;
  state: DeliveryState;
  at: number;
  subscriptionId?: string;
  topic?: string;
  eventType?: string;
};

/** The created event of a delivery as ingest or fan-out makes it. */
export function createdEvent(delivery: JournaledDelivery): DeliveryCreated {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (delivery.topic) headers["hookd-topic"] = delivery.topic;
  if (delivery.eventType) headers["hookd-event-type"] = delivery.eventType;
  return {
    type: "delivery.created",
    at: new Date(delivery.at).toISOString(),
    data: {
      id: delivery.id,
      request: { url: delivery.url, method: "POST", headers, body: "e30=" },
      schedule: [1_000, 10_000],
      secrets: [],
      source: delivery.subscriptionId ? "fan-out" : "dispatch",
      ...(delivery.subscriptionId ? { subscriptionId: delivery.subscriptionId } : {}),
    },
  };
}

const record = (url: string, status: number) => ({
  attempt: 1,
  request: { method: "POST", url, headers: {} },
  response: { status, headers: {}, body: "", bodyTruncated: false },
  latencyMs: 3,
});

/** The transitions that take a new delivery to `state`, appended together as a quick attempt is. */
export function eventsTo(delivery: JournaledDelivery): DeliveryTransition[] {
  const at = new Date(delivery.at + 5).toISOString();
  const started: DeliveryTransition = { type: "attempt.started", at, data: { attempt: 1, worker: "journal-fill" } };
  const failed = (permanent: boolean): DeliveryTransition => ({
    type: "attempt.failed",
    at,
    data: {
      ...record(delivery.url, permanent ? 410 : 503),
      permanent,
      retryAt: new Date(delivery.at + 60_000).toISOString(),
    },
  });
  switch (delivery.state) {
    case "pending":
      return [];
    case "in-flight":
      return [started];
    case "delivered":
      return [started, { type: "attempt.succeeded", at, data: record(delivery.url, 200) }];
    case "backoff":
      return [started, failed(false)];
    case "failed":
      return [started, failed(true)];
    case "cancelled":
      return [{ type: "delivery.cancel-requested", at, data: {} }];
  }
}

/** The steps to append for `events` from `snapshot`, each with the snapshot it leads to. */
export function stepsFor(snapshot: DeliverySnapshot, events: readonly DeliveryTransition[]): TransitionStep[] {
  const steps: TransitionStep[] = [];
  let current = snapshot;
  for (const event of events) {
    const next = applyDeliveryEvent(current, event);
    if (!next) throw new Error(`the machine refuses ${event.type} in ${String(current.value)}`);
    steps.push({ event, after: persistDelivery(next) });
    current = next;
  }
  return steps;
}

/** Journals one delivery in its state: its created event, then one append of the transitions to it. */
export async function journalDelivery(store: DeliveryStore, delivery: JournaledDelivery): Promise<void> {
  const created = createdEvent(delivery);
  await store.create(created, { exclusive: true });
  const events = eventsTo(delivery);
  if (events.length === 0) return;
  const initial = initialDelivery({ id: delivery.id, maxAttempts: created.data.schedule.length + 1 });
  await store.appendTransitions(delivery.id, stepsFor(initial, events), 0, { from: "pending", tags: tagsOf(created) });
}

/**
 * How many messages a delivery's journal holds on each of its subjects: its transitions subject and any
 * under it (`<id>.created`). A delivery made by its first attempt (records 26, 27) has one transitions message only.
 */
export async function journalSubjectsOf(
  jsm: JetStreamManager,
  layout: JetStreamLayout,
  id: string,
): Promise<Record<string, number>> {
  const transitions = layout.subjects.deliveryTransitions(id);
  const counts = await Promise.all(
    [transitions, `${transitions}.>`].map(async (filter) =>
      (await jsm.streams.info(layout.streams.journal, { subjects_filter: filter })).state.subjects ?? {}
    ),
  );
  return Object.assign({}, ...counts);
}
