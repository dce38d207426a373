import {
  type BulkAction,
  type BulkJob,
  finished,
  inDoubt,
  isFinished,
  type ItemResult,
  paceWaitMs,
  progressed,
  renewed,
} from "../domain/bulk-jobs.ts";
import type { Logger } from "../log.ts";
import type { BulkJobStore, StoredJob } from "../nats/bulk-job-store.ts";
import { JournalConflictError, NatsUnavailableError } from "../nats/journal.ts";
import type { DeliveryCommands } from "./delivery-commands.ts";

/**
 * One bulk job running on this instance, under its lease: from the job's cursor through its list
 * of deliveries, chunk by chunk, journaling its progress after each chunk and renewing its record
 * every third of the lease in between, so a slow chunk does not look like a dead runner. Its writes
 * go one at a time at the record's expected sequence; when another instance wrote in between, a
 * cancel is taken in and the run goes on, while a takeover (another runner's name in the record)
 * ends it at once. It acts on a delivery only within half a lease of a renewal it sent and NATS
 * took, so a runner that was paused past its lease finds out at its next write, before acting.
 */

const PACE_NAP_MS = 250;
/** A command NATS could not take is tried this many times, waiting 250 ms, then twice as long each time (about 4 s). */
const UNAVAILABLE_TRIES = 5;
const UNAVAILABLE_WAIT_MS = 250;

export type BulkJobRunDeps = {
  store: BulkJobStore;
  deliveries: Pick<DeliveryCommands, "retry" | "cancel">;
  /** This instance's name in the lease (BulkJob.runner). */
  runner: string;
  clock: () => number;
  leaseMs: number;
  /** Deliveries acted on between two progress writes, and at once within one. */
  chunk: number;
  concurrency: number;
  /** Deliveries a second at most (0: no limit). */
  rate: number;
  /** True once the instance stops: the run ends after the deliveries in hand and another instance goes on. */
  stopping: () => boolean;
  log: Logger;
};

export class BulkJobRun {
  #stored: StoredJob;
  /** When the newest write NATS took was sent: the lease runs from there. */
  #sentAt: number;
  #lost = false;
  #writes: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: BulkJobRunDeps, stored: StoredJob, sentAt: number) {
    this.#stored = stored;
    this.#sentAt = sentAt;
  }

  /**
   * Acts on `ids` from the job's cursor to the end (or a cancel), then journals the job finished.
   * `resumed`: the job was taken over, and the chunk at its cursor may be partly done already.
   */
  async run(ids: readonly string[], resumed: boolean): Promise<void> {
    const heartbeat = setInterval(() => {
      void this.#commit((job) => (isFinished(job) ? job : renewed(job, this.deps.clock()))).catch((error) => {
        this.deps.log.warn({ err: error, job: this.#stored.job.id }, "a bulk job's lease could not be renewed");
      });
    }, this.deps.leaseMs / 3);
    try {
      const startedAt = this.deps.clock();
      const from = this.#stored.job.cursor;
      const doubt = resumed ? inDoubt(from, this.deps.chunk, ids.length) : { from, to: from };
      while (this.#stored.job.cursor < ids.length) {
        const { job } = this.#stored;
        if (job.cancel_requested || this.deps.stopping()) break;
        const slice = ids.slice(job.cursor, job.cursor + this.deps.chunk);
        const results = await this.#apply(job.action, slice, job.cursor, { startedAt, from, doubt });
        if (!results) return;
        if (!(await this.#commit((current) => progressed(current, results, this.deps.clock())))) return;
      }
      // A stopping instance leaves the job unfinished, for another one to take over.
      if (this.deps.stopping() && !this.#stored.job.cancel_requested) return;
      const end = this.#stored.job.cancel_requested ? "cancelled" : "done";
      await this.#commit((job) => (isFinished(job) ? job : finished(job, end, this.deps.clock())));
    } finally {
      clearInterval(heartbeat);
    }
  }

  /** Null when the lease was lost before the chunk was through: its progress is the next runner's to find out. */
  async #apply(
    action: BulkAction,
    ids: readonly string[],
    offset: number,
    pace: { startedAt: number; from: number; doubt: { from: number; to: number } },
  ): Promise<ItemResult[] | null> {
    const results: ItemResult[] = [];
    const { rate, clock } = this.deps;
    // Paced one at a time, so no group goes faster than the rate; unpaced, a group at once.
    const group = rate > 0 ? 1 : this.deps.concurrency;
    for (let i = 0; i < ids.length; i += group) {
      // Paced in short naps, so a stopping instance does not wait out a slow rate: what it did so far is journaled.
      for (;;) {
        if (this.deps.stopping()) return results;
        const wait = paceWaitMs(offset + i - pace.from, rate, clock() - pace.startedAt);
        if (wait <= 0) break;
        await new Promise((resolve) => setTimeout(resolve, Math.min(wait, PACE_NAP_MS)));
      }
      if (!(await this.#holdsLease())) return null;
      const slice = ids.slice(i, i + group);
      const done = await Promise.all(slice.map((deliveryId, j) => {
        const index = offset + i + j;
        return this.#act(action, deliveryId, index >= pace.doubt.from && index < pace.doubt.to);
      }));
      // NATS stayed away: this chunk is left unjournaled, in doubt, for whoever runs the job next.
      if (done.includes(null)) return null;
      results.push(...done as ItemResult[]);
    }
    return results;
  }

  /**
   * One delivery's retry or cancel. While NATS is away (a stream electing its leader) it is tried
   * again, as in doubt (the journal tells whether the first try landed), for a few seconds; null if
   * NATS stays away, rather than counting the delivery as refused when it was never asked.
   */
  async #act(action: BulkAction, deliveryId: string, resumed: boolean): Promise<ItemResult | null> {
    for (let attempt = 0;; attempt++) {
      const origin = { job: this.#stored.job.id, resumed: resumed || attempt > 0 };
      try {
        await (action === "retry"
          ? this.deps.deliveries.retry(deliveryId, origin)
          : this.deps.deliveries.cancel(deliveryId, origin));
        return { deliveryId, error: null };
      } catch (error) {
        if (!(error instanceof NatsUnavailableError)) return { deliveryId, error: (error as Error).message };
        if (attempt + 1 >= UNAVAILABLE_TRIES || this.deps.stopping()) return null;
        await new Promise((resolve) => setTimeout(resolve, UNAVAILABLE_WAIT_MS * 2 ** attempt));
      }
    }
  }

  /** Whether the lease is safely held now: renewed within half a lease, or renewed here and now. */
  async #holdsLease(): Promise<boolean> {
    if (this.#lost) return false;
    if (this.deps.clock() - this.#sentAt < this.deps.leaseMs / 2) return true;
    return (await this.#commit((job) => renewed(job, this.deps.clock()))) !== null;
  }

  /** Journals `step` applied to the job, after any write in hand; null once another runner holds the job. */
  #commit(step: (job: BulkJob) => BulkJob): Promise<StoredJob | null> {
    const next = this.#writes.then(() => this.#write(step));
    this.#writes = next.catch(() => undefined);
    return next;
  }

  async #write(step: (job: BulkJob) => BulkJob): Promise<StoredJob | null> {
    let current = this.#stored;
    while (!this.#lost) {
      const job = step(current.job);
      // Nothing to write (a renewal that came after the end).
      if (job === current.job) return current;
      const sentAt = this.deps.clock();
      try {
        const seq = await this.deps.store.write(job, current.seq);
        this.#stored = { job, seq };
        this.#sentAt = sentAt;
        return this.#stored;
      } catch (error) {
        if (!(error instanceof JournalConflictError)) throw error;
        const newer = await this.deps.store.read(current.job.id);
        // Another instance took the job over (this one paused past its lease), or it is gone from the journal.
        if (!newer || newer.job.runner !== this.deps.runner || isFinished(newer.job)) {
          this.#lost = true;
          this.deps.log.warn({ job: current.job.id }, "another instance took over this bulk job; this one stops");
          break;
        }
        // A cancel asked for meanwhile: taken in, and the step applied on top.
        current = newer;
      }
    }
    return null;
  }
}
