import { DeliverPolicy, type JetStreamClient } from "@nats-io/jetstream";
import type { StoredSubscription } from "../nats/subscription-store.ts";
import type { JetStreamLayout } from "../nats/layout.ts";
import { EVENT_TYPE_HEADER } from "../nats/topic-log.ts";
import type { FanOut } from "./fan-out.ts";

/**
 * Redelivers a subscription's past events: every event on its topic (or below it) published
 * between `since` and `until`, filtered by its event types, becomes a new delivery. Replayed
 * deliveries get ids derived from (event, subscription, replay), so they are new deliveries, and a
 * replay that is itself retried creates each one once.
 */

export const MAX_REPLAY_EVENTS = 100_000;

export type ReplayProgress = { events: number; deliveries: number; atMost: number };

export type ReplayDeps = { js: JetStreamClient; fanOut: FanOut; layout: JetStreamLayout };

export type ReplayInput = {
  subscriptionId: string;
  subscription: StoredSubscription;
  replayId: string;
  since: Date;
  until: Date;
  /** Told after each batch: events replayed so far, deliveries made, and the window's events at most (the stream's count since `since`). */
  onProgress?: (progress: ReplayProgress) => void;
};

export type ReplayOutcome = { events: number; deliveries: number; truncated: boolean };

/** A subscription's replay with its dependencies bound, as the API and the console call it. */
export type ReplaySubscription = (input: ReplayInput) => Promise<ReplayOutcome>;

export async function replaySubscription(deps: ReplayDeps, input: ReplayInput): Promise<ReplayOutcome> {
  const { config } = input.subscription;
  const consumer = await deps.js.consumers.get(deps.layout.streams.topics, {
    filter_subjects: deps.layout.subjects.topicFilter({ topic: config.topic, recursive: config.recursive }),
    deliver_policy: DeliverPolicy.StartTime,
    opt_start_time: input.since.toISOString(),
  });
  let events = 0;
  let deliveries = 0;
  let truncated = false;
  try {
    const info = await consumer.info(false).catch(() => null);
    let remaining = info?.num_pending ?? 0;
    const atMost = Math.min(remaining, MAX_REPLAY_EVENTS);
    input.onProgress?.({ events, deliveries, atMost });
    while (remaining > 0) {
      const batch = await consumer.fetch({ max_messages: Math.min(remaining, 500), expires: 5_000 });
      let got = 0;
      let done = false;
      for await (const message of batch) {
        got++;
        if (message.info.timestampNanos / 1e6 > input.until.getTime()) {
          done = true;
          break;
        }
        const type = message.headers?.get(EVENT_TYPE_HEADER) || null;
        if (config.eventTypes && (type === null || !config.eventTypes.includes(type))) continue;
        events++;
        deliveries += await deps.fanOut.deliverTo(message, [input.subscriptionId], input.replayId);
        if (events >= MAX_REPLAY_EVENTS) {
          truncated = true;
          done = true;
          break;
        }
      }
      input.onProgress?.({ events, deliveries, atMost });
      if (done || got === 0) break;
      remaining -= got;
    }
  } finally {
    await consumer.delete().catch(() => undefined);
  }
  return { events, deliveries, truncated };
}
