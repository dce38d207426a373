import {
  type BulkAction,
  type BulkJob,
  bulkJobView,
  cancelRequested,
  finished,
  isFinished,
  type ItemResult,
  newBulkJob,
  progressed,
} from "../domain/bulk-jobs.ts";
import { ulid } from "../domain/ids.ts";
import type { Logger } from "../log.ts";
import type { BulkJobStore } from "../nats/bulk-job-store.ts";
import { JournalConflictError } from "../nats/journal.ts";
import type { DeliveryCommands } from "./delivery-commands.ts";
import type { DeliveryFilter, Resolved } from "./delivery-filter.ts";
import { ActorNotFoundError } from "./errors.ts";

/**
 * Bulk actions: retry or cancel every delivery a filter matches, as a background job on the instance
 * that was asked, through the same DeliveryCommands the API's single retry and cancel use. The job
 * is journaled in HOOKD_JOBS when it starts, after every chunk and at its end, so any instance can
 * report it and cancel it (a cancel is an entry the runner finds when its next write conflicts).
 * A job does not move to another instance: if its instance dies, its record stops where it was and
 * reads as "interrupted" once it is older than STALE_MS; running the same filter again acts on what
 * still matches.
 */

export const BULK_JOB_PREFIX = "bulk_";
/** Checked before an id goes into a subject: a "*" or ">" there would read another job. */
const BULK_JOB_ID = /^bulk_[0-9A-HJKMNP-TV-Z]{26}$/;
/** An unfinished job whose record has not moved for this long lost its instance. */
export const STALE_MS = 60_000;
/** Deliveries acted on at once, and between two journal writes. */
const CONCURRENCY = 8;
const CHUNK = 40;

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
  instance: string;
  clock: () => number;
  randomBytes: (length: number) => Uint8Array;
  log: Logger;
};

export type BulkJobView = ReturnType<typeof bulkJobView>;

export class BulkJobs {
  readonly #running = new Map<string, Promise<void>>();
  #stopping = false;

  constructor(private readonly deps: BulkJobsDeps) {}

  /** How many deliveries `filter` matches now (a dry run); `truncated` when more than a job takes. */
  async count(filter: DeliveryFilter): Promise<{ count: number; truncated: boolean }> {
    const { ids, truncated } = await this.deps.resolve(filter, this.deps.maxDeliveries);
    return { count: ids.length, truncated };
  }

  /**
   * Resolves the filter (so a filter matching too many is refused now, with BulkJobTooLargeError),
   * journals the job, and runs it in the background; answers with its first record.
   */
  async start(action: BulkAction, filter: DeliveryFilter): Promise<BulkJobView> {
    const found = await this.deps.resolve(filter, this.deps.maxDeliveries);
    if (found.truncated) throw new BulkJobTooLargeError(this.deps.maxDeliveries);
    const id = BULK_JOB_PREFIX + ulid(this.deps.clock(), this.deps.randomBytes(10));
    const spec = { id, action, filter, instance: this.deps.instance, total: found.ids.length };
    const job = newBulkJob(spec, this.deps.clock());
    const seq = await this.deps.store.write(job, 0);
    const run = this.#run(job, seq, found.ids).catch((error) => {
      this.deps.log.error({ err: error, job: id }, "a bulk job stopped on an error");
    }).finally(() => this.#running.delete(id));
    this.#running.set(id, run);
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

  #view(job: BulkJob): BulkJobView {
    return bulkJobView(job, this.deps.clock(), STALE_MS);
  }

  async #run(first: BulkJob, firstSeq: number, ids: readonly string[]): Promise<void> {
    let state = { job: first, seq: firstSeq };
    for (let i = 0; i < ids.length; i += CHUNK) {
      if (state.job.cancel_requested || isFinished(state.job)) break;
      if (this.#stopping) return;
      const results = await this.#apply(first.action, ids.slice(i, i + CHUNK));
      const next = await this.#write(state, (job) => progressed(job, results, this.deps.clock()));
      if (!next) return;
      state = next;
    }
    const end = state.job.cancel_requested ? "cancelled" : "done";
    await this.#write(state, (job) => (isFinished(job) ? job : finished(job, end, this.deps.clock())));
  }

  async #apply(action: BulkAction, ids: readonly string[]): Promise<ItemResult[]> {
    const results: ItemResult[] = [];
    for (let i = 0; i < ids.length; i += CONCURRENCY) {
      const slice = ids.slice(i, i + CONCURRENCY);
      results.push(
        ...await Promise.all(slice.map(async (deliveryId) => {
          try {
            await (action === "retry"
              ? this.deps.deliveries.retry(deliveryId)
              : this.deps.deliveries.cancel(deliveryId));
            return { deliveryId, error: null };
          } catch (error) {
            return { deliveryId, error: (error as Error).message };
          }
        })),
      );
    }
    return results;
  }

  /**
   * Journals `step` applied to the job; when another instance wrote in between (a cancel), applies it
   * to the newer record instead. Null when the job is gone from the journal.
   */
  async #write(
    state: { job: BulkJob; seq: number },
    step: (job: BulkJob) => BulkJob,
  ): Promise<{ job: BulkJob; seq: number } | null> {
    let current: { job: BulkJob; seq: number } | null = state;
    while (current) {
      const job = step(current.job);
      try {
        const seq = await this.deps.store.write(job, current.seq);
        return { job, seq };
      } catch (error) {
        if (!(error instanceof JournalConflictError)) throw error;
        current = await this.deps.store.read(state.job.id);
      }
    }
    return null;
  }

  /** Stops running jobs after their chunk in hand; their records read as interrupted once stale. */
  async stop(): Promise<void> {
    this.#stopping = true;
    await Promise.allSettled([...this.#running.values()]);
  }
}
