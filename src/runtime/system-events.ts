import type { StoredSubscription } from "../nats/subscription-store.ts";
import type { TopicLog } from "../nats/topic-log.ts";
import type { Logger } from "../log.ts";
import { ulid } from "../domain/ids.ts";
import { patternText } from "../domain/topic-name.ts";

/**
 * Operational events about subscriptions, published on the system topic like any other event, so
 * an owner can subscribe to it (or stream it) and be told when an endpoint was disabled.
 */
export const SYSTEM_SUBSCRIPTIONS_TOPIC = "hookd/system/subscriptions";

export function systemEventPublisher(topics: TopicLog, clock: () => number, log: Logger) {
  return async (id: string, before: string | null, after: StoredSubscription): Promise<void> => {
    if (before === after.state) return;
    const body = {
      subscription_id: id,
      topic: patternText(after.config),
      url: after.config.url,
      owner: after.config.owner,
      previous_state: before,
      state: after.state,
      status_message: after.context.statusMessage,
      at: after.updatedAt,
    };
    try {
      await topics.publish({
        id: "evt_" + ulid(clock(), crypto.getRandomValues(new Uint8Array(10))),
        topic: SYSTEM_SUBSCRIPTIONS_TOPIC,
        namespace: "safe",
        body: new TextEncoder().encode(JSON.stringify(body)),
        contentType: "application/json",
        type: `subscription.${after.state}`,
        publishedAt: new Date(clock()).toISOString(),
      });
    } catch (error) {
      log.warn(
        { err: error, subscription: id },
        "could not publish the subscription's state change on the system topic",
      );
    }
  };
}
