import type { ConsumerMessages, JetStreamClient, JsMsg } from "@nats-io/jetstream";
import type { Logger } from "../log.ts";

/**
 * Pulls from a shared durable consumer (the delivery work queue, fan-out, a router…) and runs at most
 * `concurrency` handlers at once. Every hookd instance runs one against the same consumer, so the
 * work spreads across them.
 */
export type WorkQueueRunner = { stop(): Promise<void> };

const PULL_EXPIRES_MS = 5_000;

export async function runWorkQueue(options: {
  js: JetStreamClient;
  concurrency: number;
  handle: (message: JsMsg) => Promise<void>;
  log: Logger;
  /** Told how many handlers run, each time the number changes. */
  onLoad?: (active: number) => void;
  stream: string;
  consumer: string;
}): Promise<WorkQueueRunner> {
  const consumer = await options.js.consumers.get(options.stream, options.consumer);
  // Short pulls: a pull the server lost (its consumer leader died, on a cluster) is noticed by two missed heartbeats,
  // half a pull each. nats.js's default (30 s) left a queue idle for half a minute after a node died; this, 5 s.
  const messages: ConsumerMessages = await consumer.consume({
    max_messages: options.concurrency,
    expires: PULL_EXPIRES_MS,
  });
  const active = new Set<Promise<void>>();

  const loop = (async () => {
    for await (const message of messages) {
      const task: Promise<void> = options
        .handle(message)
        .catch((error: unknown) => {
          options.log.error({ err: error, subject: message.subject }, "work item failed; it will be redelivered");
          try {
            message.nak(1_000);
          } catch {
            // The connection is gone: the ack wait redelivers the message anyway.
          }
        })
        .finally(() => {
          active.delete(task);
          options.onLoad?.(active.size);
        });
      active.add(task);
      options.onLoad?.(active.size);
      if (active.size >= options.concurrency) await Promise.race(active);
    }
  })();

  return {
    async stop() {
      messages.stop();
      await loop.catch(() => undefined);
      await Promise.allSettled([...active]);
    },
  };
}
