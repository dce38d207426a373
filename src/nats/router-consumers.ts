import { AckPolicy, DeliverPolicy, type JetStreamManager } from "@nats-io/jetstream";
import { TOPIC_STREAM } from "./streams.ts";

/**
 * Each configured router reads the topic log through its own durable consumer, named from the
 * router's name: its position survives restarts, and every hookd instance pulls from the same
 * consumer, so the instances share the work and each message is routed once.
 */

export const ROUTER_CONSUMER_PREFIX = "hookd-router-";

export function routerConsumerName(routerName: string): string {
  return ROUTER_CONSUMER_PREFIX + routerName;
}

const ns = (ms: number) => ms * 1_000_000;

export async function ensureRouterConsumer(
  jsm: JetStreamManager,
  options: { routerName: string; filterSubject: string; inactiveMs: number; ackWaitMs?: number },
): Promise<string> {
  const name = routerConsumerName(options.routerName);
  // A router removed from the config leaves no reader; NATS drops its consumer once everything it
  // could still read has aged out of the topic log, so no instance has to decide that it is gone.
  const inactive = ns(options.inactiveMs);
  let existing;
  try {
    existing = await jsm.consumers.info(TOPIC_STREAM, name);
  } catch (error) {
    if (!/consumer not found/i.test(String(error)) && (error as { name?: string }).name !== "ConsumerNotFoundError") throw error;
  }
  if (!existing) {
    try {
      await jsm.consumers.add(TOPIC_STREAM, {
        durable_name: name,
        ack_policy: AckPolicy.Explicit,
        // A new router announces what is published from now on, not the log's past week of pushes.
        deliver_policy: DeliverPolicy.New,
        filter_subject: options.filterSubject,
        // One message in flight across all instances keeps the routed messages in their published order
        // (a deploy bot must not see push B and then the older push A as the branch's latest).
        max_ack_pending: 1,
        ack_wait: ns(options.ackWaitMs ?? 30_000),
        max_deliver: -1,
        inactive_threshold: inactive,
      });
    } catch (error) {
      // Another instance starting at the same moment made it first; its settings are the same.
      if (!/already (exists|in use)/i.test(String(error))) throw error;
    }
    return name;
  }
  // Changing "from" keeps the position: messages after it on the new topic are routed, none twice.
  if (existing.config.filter_subject !== options.filterSubject || existing.config.inactive_threshold !== inactive) {
    await jsm.consumers.update(TOPIC_STREAM, name, { filter_subject: options.filterSubject, inactive_threshold: inactive });
  }
  return name;
}
