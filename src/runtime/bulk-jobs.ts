import {
  type BulkAction,
  type BulkJob,
  bulkJobView,
  cancelRequested,
  finished,
  isFinished,
  newBulkJob,
  takenOver,
  takeoverStep,
} from "../domain/bulk-jobs.ts";
import { toHex } from "../domain/bytes.ts";
import { ulid } from "../domain/ids.ts";
import type { Logger } from "../log.ts";
import type { BulkJobStore, StoredJob } from "../nats/bulk-job-store.ts";
import { JournalConflictError } from "../nats/journal.ts";
import { BulkJobRun } from "./bulk-job-run.ts";
import type { DeliveryCommands } from "./delivery-commands.ts";
import type { DeliveryFilter, Resolved } from "./delivery-filter.ts";
import { ActorNotFoundError } from "./errors.ts";

/**
 * Bulk actions: retry or cancel every delivery a filter matches, as a background job, through the
 * same DeliveryCommands the API's single retry and cancel use. When it starts, the job journals in
 * HOOKD_JOBS the deliveries it will act on (in pages) and its record; the record is rewritten after
 * every chunk (its cursor: how far down the list it is), renewed every third of LEASE_MS while it
 * runs, and written at its end, each time at the record's expected sequence. Any instance reports a
 * job and cancels it (a cancel is an entry the runner finds when its next write conflicts).
 *
 * A job survives its instance: every instance follows all jobs' records, and one whose record has
 * not moved for LEASE_MS (on the watcher's own clock) lost its runner. The first instance to write
 * itself into that record, at the sequence it saw, takes the job over and goes on from the cursor
 * (record 25). The chunk at the cursor may be partly done by the dead runner: there each delivery's
 * journal is checked for this job's request first, so none is retried twice. A job whose cancel
 * was asked for is closed as cancelled instead, and one whose runner stopped but whose instance is
 * still alive (it paused past its lease) finds the takeover at its next write and stops. With no
 * live instance at all, a job reads "interrupted" once it has not been renewed for STALE_MS.
 */

export const BULK_JOB_PREFIX = "bulk_";
/** Checked before an id goes into a subject: a "*" or ">" there would read another job. */
const BULK_JOB_ID = /^bulk_[0-9A-HJKMNP-TV-Z]{26}$/;
/** An unfinished job not renewed for this long has no runner, and reads "interrupted" until one takes it over. */
export const STALE_MS = 60_000;
/** A job's record that stays still this long lost its runner; another instance takes it over (as the indexer's lease). */
export const LEASE_MS = 10_000;
/** Deliveries acted on at once, and between two journal writes. */
const CONCURRENCY = 8;
export const CHUNK = 40;

export class BulkJobTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`The filter matches more than ${limit} deliveries, the most one bulk action takes.`);
  }
}

export type BulkJobsDeps = {
  store: BulkJobStore;
  deliveries: Pick<DeliveryCommands, "retry" | "cancel">;
  resolve: (filter: DeliveryFilter, limit: number) => Promise<Resolved>;
  /** The most deliveries one job acts on. */
  maxDeliveries: number;
  /** Deliveries a second one job acts on at most (HOOKD_BULK_RATE; 0: no limit). */
  rate?: number;
  leaseMs?: number;
  instance: string;
  clock: () => number;
  randomBytes: (length: number) => Uint8Array;
  log: Logger;
};

export type BulkJobView = ReturnType<typeof bulkJobView>;

/** A job's record as this instance last saw it, and since when (its own clock) it has not moved. */
type Watched = { job: BulkJob; seq: number; since: number };

export class BulkJobs {
  readonly #running = new Map<string, Promise<void>>();
  readonly #watched = new Map<string, Watched>();
  /** This instance's name in the jobs' leases: its name and a random suffix, so a restart under the same name differs. */
  readonly #runner: string;
  readonly #leaseMs: number;
  #stopping = false;
  #sweeping = false;
  #stopWatching: () => void = () => undefined;
  #sweep: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly deps: BulkJobsDeps) {
    this.#runner = `${deps.instance}:${toHex(deps.randomBytes(4))}`;
    this.#leaseMs = deps.leaseMs ?? LEASE_MS;
  }

  /** How many deliveries `filter` matches now (a dry run); `truncated` when more than a job takes. */
  async count(filter: DeliveryFilter): Promise<{ count: number; truncated: boolean }> {
    const { ids, truncated } = await this.deps.resolve(filter, this.deps.maxDeliveries);
    return { count: ids.length, truncated };
  }

  /**
   * Resolves the filter (so a filter matching too many is refused now, with BulkJobTooLargeError),
   * journals the deliveries and the job, and runs it in the background; answers with its first record.
   */
  async start(action: BulkAction, filter: DeliveryFilter): Promise<BulkJobView> {
    const found = await this.deps.resolve(filter, this.deps.maxDeliveries);
    if (found.truncated) throw new BulkJobTooLargeError(this.deps.maxDeliveries);
    const id = BULK_JOB_PREFIX + ulid(this.deps.clock(), this.deps.randomBytes(10));
    // The list first: a job's record never names pages that are not there.
    const idPages = await this.deps.store.writeIds(id, found.ids);
    const spec = {
      id,
      action,
      filter,
      instance: this.deps.instance,
      runner: this.#runner,
      total: found.ids.length,
      id_pages: idPages,
    };
    const job = newBulkJob(spec, this.deps.clock());
    const sentAt = this.deps.clock();
    const seq = await this.deps.store.write(job, 0);
    this.#launch({ job, seq }, sentAt, found.ids, false);
    return this.#view(job);
  }

  async get(id: string): Promise<BulkJobView> {
    const stored = BULK_JOB_ID.test(id) ? await this.deps.store.read(id) : null;
    if (!stored) throw new ActorNotFoundError("bulk-job", id);
    return this.#view(stored.job);
  }

  /** Asks the job to stop after the deliveries in hand; any instance may ask. */
  async cancel(id: string): Promise<BulkJobView> {
    for (;;) {
      const stored = BULK_JOB_ID.test(id) ? await this.deps.store.read(id) : null;
      if (!stored) throw new ActorNotFoundError("bulk-job", id);
      const next = cancelRequested(stored.job, this.deps.clock());
      if (next === stored.job) return this.#view(next);
      try {
        await this.deps.store.write(next, stored.seq);
        return this.#view(next);
      } catch (error) {
        if (!(error instanceof JournalConflictError)) throw error;
      }
    }
  }

  /** Tells `watcher` the job's newest record, then each one journaled after it by any instance; returns how to stop. */
  async watch(id: string, watcher: (job: BulkJobView) => void): Promise<() => void> {
    if (!BULK_JOB_ID.test(id)) throw new ActorNotFoundError("bulk-job", id);
    return await this.deps.store.follow(id, (job) => watcher(this.#view(job)));
  }

  /**
   * Follows every job's record, and every quarter of the lease takes over the unfinished jobs whose
   * record stayed still for a whole lease. Resolves once the follower is set up.
   */
  async startTakeovers(): Promise<void> {
    this.#stopWatching = await this.deps.store.followAll(
      (job, seq) => this.#seen(job, seq),
      (error) =>
        this.deps.log.error({ err: error }, "stopped watching bulk jobs to take over; restart hookd to resume"),
    );
    this.#sweep = setInterval(() => {
      void this.#sweepOnce().catch((error) => {
        this.deps.log.warn({ err: error }, "looking for bulk jobs to take over failed; trying again shortly");
      });
    }, this.#leaseMs / 4);
  }

  #view(job: BulkJob): BulkJobView {
    return bulkJobView(job, this.deps.clock(), STALE_MS);
  }

  #launch(stored: StoredJob, sentAt: number, ids: readonly string[], resumed: boolean): void {
    const run = new BulkJobRun(
      {
        store: this.deps.store,
        deliveries: this.deps.deliveries,
        runner: this.#runner,
        clock: this.deps.clock,
        leaseMs: this.#leaseMs,
        chunk: CHUNK,
        concurrency: CONCURRENCY,
        rate: this.deps.rate ?? 0,
        stopping: () => this.#stopping,
        log: this.deps.log,
      },
      stored,
      sentAt,
    );
    const { id } = stored.job;
    const running = run.run(ids, resumed).catch((error) => {
      this.deps.log.error({ err: error, job: id }, "a bulk job stopped on an error; another instance takes it over");
    }).finally(() => this.#running.delete(id));
    this.#running.set(id, running);
  }

  /** A job's record as the follower (or a read) delivered it: its quiet time restarts whenever it moves. */
  #seen(job: BulkJob, seq: number): void {
    if (isFinished(job)) {
      this.#watched.delete(job.id);
      return;
    }
    const known = this.#watched.get(job.id);
    // The same entry again (the follower reconnected), or an older one read from a lagging replica.
    if (known && known.seq >= seq) return;
    this.#watched.set(job.id, { job, seq, since: this.deps.clock() });
  }

  async #sweepOnce(): Promise<void> {
    if (this.#sweeping) return;
    this.#sweeping = true;
    try {
      for (const [id, watched] of this.#watched) {
        if (this.#stopping) return;
        if (this.#running.has(id)) continue;
        const step = takeoverStep(watched.job, this.deps.clock() - watched.since, this.#leaseMs);
        if (step === "none" || step === "wait") continue;
        await this.#takeOver(watched, step);
      }
    } finally {
      this.#sweeping = false;
    }
  }

  /** Claims a stalled job at the entry it was seen at: of several instances, the first write wins, the others conflict. */
  async #takeOver(watched: Watched, step: "take-over" | "close-cancelled" | "give-up"): Promise<void> {
    const stored = await this.deps.store.read(watched.job.id);
    if (!stored || stored.seq !== watched.seq) {
      if (stored) this.#seen(stored.job, stored.seq);
      return;
    }
    const { job, seq } = stored;
    const now = this.deps.clock();
    if (step === "close-cancelled") {
      await this.#writeIfStill(finished(job, "cancelled", now), seq);
      return;
    }
    const ids = step === "take-over" ? await this.deps.store.readIds(job.id, job.id_pages) : null;
    if (!ids || ids.length !== job.total) {
      const reason = "its instance stopped, and the list of deliveries it was acting on is not in the journal " +
        "(started by an older hookd, or aged out); run the filter again to act on what still matches";
      await this.#writeIfStill(finished(job, "failed", now, reason), seq);
      return;
    }
    if (this.#stopping) return;
    const claimed = takenOver(job, { instance: this.deps.instance, runner: this.#runner }, now);
    const sentAt = this.deps.clock();
    const claimedSeq = await this.#writeIfStill(claimed, seq);
    if (claimedSeq === null) return;
    this.deps.log.info(
      { job: job.id, from: job.instance, cursor: job.cursor, total: job.total },
      "took over a bulk job whose instance stopped renewing it",
    );
    this.#launch({ job: claimed, seq: claimedSeq }, sentAt, ids, true);
  }

  /** Writes at `seq`; null when another instance wrote first (it took the job, or it moved). */
  async #writeIfStill(job: BulkJob, seq: number): Promise<number | null> {
    try {
      return await this.deps.store.write(job, seq);
    } catch (error) {
      if (error instanceof JournalConflictError) return null;
      throw error;
    }
  }

  /**
   * Stops following jobs, and stops running ones after their chunk in hand, unfinished: another
   * instance takes them over once their lease runs out.
   */
  async stop(): Promise<void> {
    this.#stopping = true;
    clearInterval(this.#sweep);
    this.#stopWatching();
    await Promise.allSettled([...this.#running.values()]);
  }
}
