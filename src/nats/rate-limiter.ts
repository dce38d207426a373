import { RetentionPolicy, StorageType, type JetStreamManager } from "@nats-io/jetstream";
import { Journal, JournalConflictError } from "./journal.ts";
import type { JetStreamPublisher } from "./jetstream-publisher.ts";

/**
 * Rate limits shared by every instance: GCRA (virtual scheduling) with each key's "next free slot"
 * kept in NATS, one message per key, updated with an expected-sequence append (a compare-and-set).
 * A worker that is early is told how long to wait, and hands its message back to NATS for that long.
 */

export const RATE_STREAM = "HOOKD_RATES";
const subject = (key: string) => `hookd.rates.${key}`;

export async function ensureRateStream(jsm: JetStreamManager): Promise<void> {
  const config = {
    name: RATE_STREAM,
    subjects: ["hookd.rates.>"],
    retention: RetentionPolicy.Limits,
    // Slots only matter for a moment; losing them on a server restart just lets one burst through.
    storage: StorageType.Memory,
    max_msgs_per_subject: 1,
    max_age: 3_600_000_000_000,
    allow_direct: true,
  };
  await jsm.streams.info(RATE_STREAM).then(
    () => jsm.streams.update(RATE_STREAM, config),
    () => jsm.streams.add(config),
  );
}

export class RateLimiter {
  readonly #journal: Journal;

  constructor(jsm: JetStreamManager, publisher: JetStreamPublisher) {
    this.#journal = new Journal(jsm, RATE_STREAM, publisher);
  }

  /** Takes a slot for `key` at `perSecond`: 0 when the caller may go now, else the milliseconds to wait. */
  async reserve(key: string, perSecond: number, now: number): Promise<number> {
    const interval = 1000 / perSecond;
    for (let round = 0; round < 10; round++) {
      const last = await this.#journal.readLast(subject(key));
      const nextFree = last ? Number(new TextDecoder().decode(last.data)) : now;
      if (nextFree > now) return Math.ceil(nextFree - now);
      try {
        await this.#journal.append(subject(key), String(Math.max(nextFree, now) + interval), { expectedSeq: last?.seq ?? 0 });
        return 0;
      } catch (error) {
        if (!(error instanceof JournalConflictError)) throw error;
      }
    }
    // Heavy contention on one key: try again a slot later.
    return Math.ceil(interval);
  }
}
