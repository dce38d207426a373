import type { ConsumerMessages, JetStreamClient, JsMsg } from "@nats-io/jetstream";
import type { Logger } from "../log.ts";

/**
 * Pulls from a shared durable consumer (the delivery work queue, fan-out, a router…) and runs at most
 * `concurrency` handlers at once. Every hookd instance runs one against the same consumer, so the
 * work spreads across them.
 */
export type WorkQueueRunner = { stop(): Promise<void> };

const PULL_EXPIRES_MS = 5_000;
const FETCH_RETRY_MS = 1_000;

export type WorkQueueOptions = {
  js: JetStreamClient;
  concurrency: number;
  handle: (message: JsMsg) => Promise<void>;
  log: Logger;
  /** Told how many handlers run, each time the number changes. */
  onLoad?: (active: number) => void;
  stream: string;
  consumer: string;
  /**
   * False: pull only as many messages as handlers are free, so none waits in this process, where its
   * ack wait could run out and NATS hand it to another instance while this one still holds a copy
   * (the ingest batches, whose handlers send without reading the journal first: decision record 26).
   */
  prefetch?: boolean;
};

/** Runs the handler on one message, counted in `active` until it settles; a failure hands the message back. */
function startHandler(options: WorkQueueOptions, active: Set<Promise<void>>, message: JsMsg): void {
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
}

export async function runWorkQueue(options: WorkQueueOptions): Promise<WorkQueueRunner> {
  const consumer = await options.js.consumers.get(options.stream, options.consumer);
  const active = new Set<Promise<void>>();
  let current: ConsumerMessages | null = null;
  let stopped = false;

  const start = (message: JsMsg) => startHandler(options, active, message);

  const consumeAll = async (messages: ConsumerMessages) => {
    for await (const message of messages) {
      start(message);
      if (active.size >= options.concurrency) await Promise.race(active);
    }
  };
  const fetchForFreeHandlers = async () => {
    while (!stopped) {
      if (active.size >= options.concurrency) await Promise.race(active);
      try {
        current = await consumer.fetch({ max_messages: options.concurrency - active.size, expires: PULL_EXPIRES_MS });
        if (stopped) current.stop();
        for await (const message of current) start(message);
      } catch (error) {
        // NATS away, or the consumer's leader moving (a cluster node died): pull again shortly, as consume() does.
        if (stopped) return;
        options.log.warn({ err: error, consumer: options.consumer }, "pulling work failed; trying again");
        await new Promise((resolve) => setTimeout(resolve, FETCH_RETRY_MS));
      }
    }
  };
  if (options.prefetch !== false) {
    // Short pulls: a pull the server lost (its consumer leader died, on a cluster) is noticed by two missed
    // heartbeats, half a pull each. nats.js's default (30 s) left a queue idle for half a minute after a node
    // died; this, 5 s.
    current = await consumer.consume({ max_messages: options.concurrency, expires: PULL_EXPIRES_MS });
  }
  const loop = current ? consumeAll(current) : fetchForFreeHandlers();

  return {
    async stop() {
      stopped = true;
      current?.stop();
      await loop.catch(() => undefined);
      await Promise.allSettled([...active]);
    },
  };
}
