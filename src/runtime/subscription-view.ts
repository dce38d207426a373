import { z } from "zod";
import { DialectSchema } from "../domain/signing-dialect.ts";
import { patternText } from "../domain/topic-name.ts";
import type { StoredSubscription } from "../nats/subscription-store.ts";
import type { LineView } from "./ordered-lines.ts";

/** A subscription as the API shows it: its settings in the API's snake_case and its lifecycle, never its secrets. */

export const SubscriptionViewSchema = z.object({
  id: z.string(),
  topic: z.string().describe('the topic, or "<prefix>/" for every topic below it'),
  url: z.string(),
  state: z.enum(["pending-verification", "active", "paused", "disabled", "expired", "unsubscribed"]),
  status_message: z.string().nullable(),
  event_types: z.array(z.string()).nullable(),
  owner: z.string().nullable(),
  description: z.string().nullable(),
  headers: z.record(z.string(), z.string()),
  dialect: DialectSchema,
  retry_schedule_ms: z.array(z.number().int()).nullable(),
  rate_limit: z.number().nullable().describe("deliveries per second; null for no limit"),
  metadata: z.record(z.string(), z.string()),
  ordered: z.boolean().describe("events go one at a time, in the topic log's order"),
  callback_url: z.string().nullable().describe("where each delivery's report goes once delivered or failed"),
  errback_url: z.string().nullable().describe("where failed deliveries' reports go, and this one's when disabled"),
  consecutive_failures: z.number().int(),
  lease_expires_at: z.string().nullable().describe("WebSub leases: when the subscription expires"),
  created_at: z.string(),
  updated_at: z.string(),
});

export function subscriptionView(id: string, subscription: StoredSubscription): z.infer<typeof SubscriptionViewSchema> {
  const { config, state, context } = subscription;
  return {
    id,
    topic: patternText(config),
    url: config.url,
    state,
    status_message: context.statusMessage,
    event_types: config.eventTypes,
    owner: config.owner,
    description: config.description,
    headers: config.headers,
    dialect: config.dialect,
    retry_schedule_ms: config.retrySchedule,
    rate_limit: config.rateLimit ?? null,
    metadata: config.metadata,
    ordered: config.ordered === true,
    callback_url: config.callbackUrl ?? null,
    errback_url: config.errbackUrl ?? null,
    consecutive_failures: context.consecutiveFailures,
    lease_expires_at: context.expiresAt === null ? null : new Date(context.expiresAt).toISOString(),
    created_at: subscription.createdAt,
    updated_at: subscription.updatedAt,
  };
}

export const OrderedLineViewSchema = z.object({
  head: z
    .object({
      delivery_id: z.string(),
      event_id: z.string(),
      topic_seq: z.number().int().describe("the event's position in the topic log"),
      state: z.enum(["pending", "in-flight", "backoff", "delivered", "failed", "cancelled", "gone", "unreadable"])
        .describe(
          "the head delivery's state; delivered, failed or cancelled with nothing waiting: the line is idle; " +
            "unreadable: its journal holds what this hookd cannot read (a newer hookd's, or damaged)",
        ),
    })
    .nullable()
    .describe("the event the line is at; null before its first event"),
  waiting: z.number().int().describe(
    "events on the topic behind the head, not yet delivered or attempted (counted before event_types is applied)",
  ),
}).describe("ordered subscriptions only: where the line stands");

/** An ordered subscription's line in the API's snake_case; the console shows the same. */
export function orderedLineView(line: LineView): z.infer<typeof OrderedLineViewSchema> {
  const { head, waiting } = line;
  if (!head) return { head: null, waiting };
  return {
    head: { delivery_id: head.deliveryId, event_id: head.eventId, topic_seq: head.topicSeq, state: head.state },
    waiting,
  };
}
