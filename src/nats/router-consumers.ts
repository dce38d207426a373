import { AckPolicy, DeliverPolicy, type JetStreamManager } from "@nats-io/jetstream";
import { ensureConsumer, TOPIC_STREAM } from "./streams.ts";

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
  await ensureConsumer(
    jsm,
    TOPIC_STREAM,
    {
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
      // A router removed from the config leaves no reader; NATS drops its consumer once everything it
      // could still read has aged out of the topic log, so no instance has to decide that it is gone.
      inactive_threshold: ns(options.inactiveMs),
    },
    // Changing "from" keeps the position: messages after it on the new topic are routed, none twice.
    ["filter_subject", "inactive_threshold"],
  );
  return name;
}
