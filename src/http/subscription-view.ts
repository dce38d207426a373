import { patternText } from "../domain/topic-name.ts";
import type { StoredSubscription } from "../nats/subscription-store.ts";

/** A subscription as the API shows it: its settings in the API's snake_case and its lifecycle, never its secrets. */

export function subscriptionView(id: string, subscription: StoredSubscription) {
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
    consecutive_failures: context.consecutiveFailures,
    lease_expires_at: context.expiresAt === null ? null : new Date(context.expiresAt).toISOString(),
    created_at: subscription.createdAt,
    updated_at: subscription.updatedAt,
  };
}
