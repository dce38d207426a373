import type { Consumer, ConsumerMessages, JetStreamClient, JsMsg } from "@nats-io/jetstream";
import type { Logger } from "../log.ts";
import { UnreadableEntryError } from "./journal.ts";

/**
 * Pulls from a shared durable consumer (the delivery work queue, fan-out, a router…) and runs at most
 * `concurrency` handlers at once. Every hookd instance runs one against the same consumer, so the
 * work spreads across them.
 */
export type WorkQueueRunner = { stop(): Promise<void> };

const PULL_EXPIRES_MS = 5_000;
const FETCH_RETRY_MS = 1_000;
/** Room for the pull request's trip to the server, whose clock starts its expiry, and for a busy event loop. */
const PULL_EXPIRY_MARGIN_MS = 500;
const PULL_WINDOW_MS = PULL_EXPIRES_MS + PULL_EXPIRY_MARGIN_MS;
/**
 * A work item whose journal this hookd cannot read is tried again after this long, by whichever
 * instance pulls it then (a newer one may read it): a damaged message warns once a minute, not
 * fails every second. The delay holds the item from every instance meanwhile.
 */
const UNREADABLE_RETRY_MS = 60_000;

/**
 * What a handler needs to know of the runner's pulls. A stopped runner's pull request stays open on
 * nats-server 2.9 until it expires, unsubscribed or not, and a message handed back (nak'd) meanwhile
 * goes to it: nobody reads it, and it waits out its ack wait (seen here: a topic event held 12 s by a
 * stop). Made for a runner that pulls only for free handlers (`prefetch: false`, the carriers); for
 * one that pulls ahead it is a full expiry from the stop, a best guess, as nats.js may still send a
 * pull it had queued before.
 */
export type Pulls = {
  /** How long a message handed back now must wait (its nak's delay) so that no open pull of this runner takes it; 0 while it runs. */
  handBackDelayMs(): number;
};

export type WorkQueueOptions = {
  js: JetStreamClient;
  concurrency: number;
  handle: (message: JsMsg, pulls: Pulls) => Promise<void>;
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
function startHandler(options: WorkQueueOptions, pulls: Pulls, active: Set<Promise<void>>, message: JsMsg): void {
  const task: Promise<void> = options
    .handle(message, pulls)
    .catch((error: unknown) => handBackFailed(error, message, pulls, options.log))
    .finally(() => {
      active.delete(task);
      options.onLoad?.(active.size);
    });
  active.add(task);
  options.onLoad?.(active.size);
}

/** A failed item goes back to NATS: in a second (or once this instance's open pull ended), in a minute when unreadable. */
function handBackFailed(error: unknown, message: JsMsg, pulls: Pulls, log: Logger): void {
  const unreadable = error instanceof UnreadableEntryError;
  if (unreadable) {
    log.warn({ err: error, subject: message.subject }, "work item's journal cannot be read; tried in a minute");
  } else log.error({ err: error, subject: message.subject }, "work item failed; it will be redelivered");
  try {
    message.nak(unreadable ? UNREADABLE_RETRY_MS : Math.max(1_000, pulls.handBackDelayMs()));
  } catch {
    // The connection is gone: the ack wait redelivers the message anyway.
  }
}

/** Starts a handler on a message, counted among the runner's active ones. */
type Start = (message: JsMsg) => void;

/** What a runner's loop and its stop share: whether it stopped, its newest pull, and how long that may stay open. */
class RunnerState {
  readonly active = new Set<Promise<void>>();
  current: ConsumerMessages | null = null;
  stopped = false;
  /** When the newest pull request ends on the server at the latest (monotonic clock); 0 once the server ended it. */
  #pullOpenUntil = 0;

  opened(): void {
    this.#pullOpenUntil = performance.now() + PULL_WINDOW_MS;
  }

  ended(): void {
    this.#pullOpenUntil = 0;
  }

  handBackDelayMs(): number {
    if (!this.stopped) return 0;
    return Math.min(PULL_WINDOW_MS, Math.max(0, Math.ceil(this.#pullOpenUntil - performance.now())));
  }
}

async function consumeAll(messages: ConsumerMessages, concurrency: number, state: RunnerState, start: Start) {
  for await (const message of messages) {
    start(message);
    if (state.active.size >= concurrency) await Promise.race(state.active);
  }
}

async function fetchForFreeHandlers(consumer: Consumer, options: WorkQueueOptions, state: RunnerState, start: Start) {
  while (!state.stopped) {
    if (state.active.size >= options.concurrency) await Promise.race(state.active);
    // Stopped while every handler was busy: a pull now would be open with nothing said of it (the
    // hand-backs' delay is 0 when none is), and take them.
    if (state.stopped) return;
    try {
      const max = options.concurrency - state.active.size;
      const current = state.current = await consumer.fetch({ max_messages: max, expires: PULL_EXPIRES_MS });
      // nats.js sends the pull request as the iteration starts: stopped meanwhile, none is sent.
      if (state.stopped) {
        current.stop();
        return;
      }
      state.opened();
      for await (const message of current) start(message);
      // Ended by the server (filled or expired), not by a stop: nothing of it is left open.
      if (!state.stopped) state.ended();
    } catch (error) {
      // NATS away, or the consumer's leader moving (a cluster node died): pull again shortly, as consume() does.
      if (state.stopped) return;
      options.log.warn({ err: error, consumer: options.consumer }, "pulling work failed; trying again");
      await new Promise((resolve) => setTimeout(resolve, FETCH_RETRY_MS));
    }
  }
}

export async function runWorkQueue(options: WorkQueueOptions): Promise<WorkQueueRunner> {
  const consumer = await options.js.consumers.get(options.stream, options.consumer);
  const state = new RunnerState();
  const pulls: Pulls = { handBackDelayMs: () => state.handBackDelayMs() };
  const start: Start = (message) => startHandler(options, pulls, state.active, message);
  if (options.prefetch !== false) {
    // Short pulls: a pull the server lost (its consumer leader died, on a cluster) is noticed by two missed
    // heartbeats, half a pull each. nats.js's default (30 s) left a queue idle for half a minute after a node
    // died; this, 5 s.
    state.current = await consumer.consume({ max_messages: options.concurrency, expires: PULL_EXPIRES_MS });
  }
  const loop = state.current
    ? consumeAll(state.current, options.concurrency, state, start)
    : fetchForFreeHandlers(consumer, options, state, start);

  return {
    async stop() {
      // consume() keeps pulling ahead: its pulls may be open until a full expiry from now.
      if (!state.stopped && options.prefetch !== false) state.opened();
      state.stopped = true;
      state.current?.stop();
      await loop.catch(() => undefined);
      await Promise.allSettled([...state.active]);
    },
  };
}
