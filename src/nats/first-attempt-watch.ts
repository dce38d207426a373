import { DeliverPolicy, type JetStreamClient } from "@nats-io/jetstream";
import type { DeliveryState } from "../../actors/delivery.machine.ts";
import type { AttemptResolved } from "../domain/delivery-events.ts";
import { transitionStepsOf } from "./delivery-store.ts";
import { unavailable } from "./journal.ts";
import type { JetStreamLayout } from "./layout.ts";

/**
 * Waits for a delivery's first attempt to finish, for inline mode (`Prefer: wait`). It reads the
 * delivery's transitions subject through an ordered consumer of its own, from the first entry on:
 * whichever instance makes the attempt, its outcome reaches every instance through the journal, and
 * what was journaled before the watch began is read first, so nothing falls between. Only stored
 * entries arrive (a core subscription would also see appends JetStream refused).
 */

export type FirstAttemptWait =
  /** The first attempt's outcome, with the state it left the delivery in. */
  | { finished: true; state: DeliveryState; outcome: AttemptResolved }
  /** The wait ran out, or the delivery was cancelled before any attempt: the newest state seen. */
  | { finished: false; state: DeliveryState };

/** This instance is holding as many waiting requests as it may (HOOKD_INLINE_WAITS). */
export class TooManyWaitsError extends Error {}

export class FirstAttemptWatch {
  #waiting = 0;

  /** `maxWaiting`: how many requests may wait at once here; each costs a consumer on the NATS server. */
  constructor(
    private readonly js: JetStreamClient,
    private readonly layout: JetStreamLayout,
    private readonly maxWaiting: number,
  ) {}

  /**
   * Resolves within `timeoutMs`, or sooner once `signal` aborts (the caller went away). Throws
   * TooManyWaitsError, at once, when `maxWaiting` requests already wait.
   */
  async wait(id: string, timeoutMs: number, signal?: AbortSignal): Promise<FirstAttemptWait> {
    if (this.#waiting >= this.maxWaiting) throw new TooManyWaitsError(`${this.maxWaiting} requests wait already`);
    this.#waiting++;
    try {
      return await this.#watch(id, timeoutMs, signal);
    } finally {
      this.#waiting--;
    }
  }

  async #watch(id: string, timeoutMs: number, signal?: AbortSignal): Promise<FirstAttemptWait> {
    const consumer = await this.js.consumers
      .get(this.layout.streams.journal, {
        filter_subjects: this.layout.subjects.deliveryTransitions(id),
        deliver_policy: DeliverPolicy.All,
      })
      .catch(unavailable);
    const messages = await consumer.consume();
    const stop = () => messages.stop();
    const timer = setTimeout(stop, timeoutMs);
    signal?.addEventListener("abort", stop, { once: true });
    let state: DeliveryState = "pending";
    let started = false;
    try {
      for await (const message of messages) {
        for (const { event, after } of transitionStepsOf(message)) {
          state = after.state;
          if (event.type === "attempt.started") started = true;
          if ((event.type === "attempt.succeeded" || event.type === "attempt.failed") && event.data.attempt === 1) {
            return { finished: true, state, outcome: event };
          }
          // Cancelled before anything went out: no attempt will come. One on the wire still reports its outcome.
          if (state === "cancelled" && !started) return { finished: false, state };
        }
      }
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener("abort", stop);
      messages.stop();
      await consumer.delete().catch(() => undefined);
    }
    return { finished: false, state };
  }
}
