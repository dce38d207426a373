import type { JetStreamManager } from "@nats-io/jetstream";
import { Journal, JournalConflictError } from "./journal.ts";
import type { JetStreamPublisher } from "./jetstream-publisher.ts";
import type { JetStreamLayout } from "./layout.ts";

/**
 * Rate limits shared by every instance: GCRA (virtual scheduling) with each key's "next free slot"
 * kept in NATS, one message per key, updated with an expected-sequence append (a compare-and-set).
 * A worker that is early is told how long to wait, and hands its message back to NATS for that long.
 */

export class RateLimiter {
  readonly #journal: Journal;
  readonly #subject: (key: string) => string;

  constructor(jsm: JetStreamManager, publisher: JetStreamPublisher, layout: JetStreamLayout) {
    this.#journal = new Journal(jsm, layout.streams.rates, publisher);
    this.#subject = layout.subjects.rate;
  }

  /** Takes a slot for `key` at `perSecond`: 0 when the caller may go now, else the milliseconds to wait. */
  async reserve(key: string, perSecond: number, now: number): Promise<number> {
    const interval = 1000 / perSecond;
    for (let round = 0; round < 10; round++) {
      const last = await this.#journal.readLast(this.#subject(key));
      const nextFree = last ? Number(new TextDecoder().decode(last.data)) : now;
      if (nextFree > now) return Math.ceil(nextFree - now);
      try {
        const nextSlot = String(Math.max(nextFree, now) + interval);
        await this.#journal.append(this.#subject(key), nextSlot, { expectedSeq: last?.seq ?? 0 });
        return 0;
      } catch (error) {
        if (!(error instanceof JournalConflictError)) throw error;
      }
    }
    // Heavy contention on one key: try again a slot later.
    return Math.ceil(interval);
  }
}
