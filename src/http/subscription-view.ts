import { z } from "zod";
import { DialectSchema } from "../domain/signing-dialect.ts";
import { patternText } from "../domain/topic-name.ts";
import type { StoredSubscription } from "../nats/subscription-store.ts";

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
    callback_url: config.callbackUrl ?? null,
    errback_url: config.errbackUrl ?? null,
    consecutive_failures: context.consecutiveFailures,
    lease_expires_at: context.expiresAt === null ? null : new Date(context.expiresAt).toISOString(),
    created_at: subscription.createdAt,
    updated_at: subscription.updatedAt,
  };
}
