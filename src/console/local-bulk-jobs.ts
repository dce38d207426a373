import { ulid } from "../domain/ids.ts";
import { TransitionRefusedError } from "../runtime/errors.ts";
import type { BulkAction, BulkJob, BulkJobs, DeliveryFilter, DeliveryIndex, Following } from "./services.ts";

/**
 * Bulk jobs as one instance can run them today: the filter's deliveries listed through the
 * delivery index, then each retried or cancelled through DeliveryCommands, so every change is
 * journaled as one made by hand. The job's progress lives in this instance (a page on another
 * instance cannot follow it); the bulk-job service replaces this with jobs kept in NATS.
 */

type Commands = { retry(id: string): Promise<unknown>; cancel(id: string): Promise<unknown> };

const PAGE = 500;
/** Finished jobs kept for a late page to read. */
const KEPT = 100;

export class LocalBulkJobs implements BulkJobs {
  readonly #jobs = new Map<string, BulkJob>();
  readonly #stopRequested = new Set<string>();
  readonly #listeners = new Map<string, Set<(job: BulkJob) => void>>();

  constructor(private readonly deps: { index: DeliveryIndex; deliveries: Commands; clock: () => number }) {}

  async count(filter: DeliveryFilter): Promise<number> {
    const { counts } = await this.deps.index.page(filter, null, 0);
    return filter.state ? counts[filter.state] : Object.values(counts).reduce((a, b) => a + b, 0);
  }

  async start(action: BulkAction, filter: DeliveryFilter): Promise<BulkJob> {
    const ids = await this.#matching(filter);
    const job: BulkJob = {
      id: "blk_" + ulid(this.deps.clock(), crypto.getRandomValues(new Uint8Array(10))),
      action,
      filter,
      total: ids.length,
      done: 0,
      refused: 0,
      state: "running",
      startedAt: new Date(this.deps.clock()).toISOString(),
      finishedAt: null,
    };
    this.#jobs.set(job.id, job);
    this.#forgetOld();
    void this.#run(job, ids).catch(() => this.#finish(job, "failed"));
    return { ...job };
  }

  async get(id: string): Promise<BulkJob | null> {
    const job = this.#jobs.get(id);
    return job ? { ...job } : null;
  }

  async cancel(id: string): Promise<BulkJob | null> {
    const job = this.#jobs.get(id);
    if (!job) return null;
    if (job.state === "running") this.#stopRequested.add(id);
    return { ...job };
  }

  async follow(id: string, onProgress: (job: BulkJob) => void): Promise<Following> {
    const set = this.#listeners.get(id) ?? new Set();
    set.add(onProgress);
    this.#listeners.set(id, set);
    const job = this.#jobs.get(id);
    if (job) onProgress({ ...job });
    return { stop: () => set.delete(onProgress) };
  }

  async #matching(filter: DeliveryFilter): Promise<string[]> {
    const ids: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await this.deps.index.page(filter, cursor, PAGE);
      ids.push(...page.rows.map((row) => row.id));
      cursor = page.nextCursor;
    } while (cursor);
    return ids;
  }

  async #run(job: BulkJob, ids: string[]): Promise<void> {
    for (const id of ids) {
      if (this.#stopRequested.has(job.id)) return this.#finish(job, "cancelled");
      try {
        await (job.action === "retry" ? this.deps.deliveries.retry(id) : this.deps.deliveries.cancel(id));
      } catch (error) {
        if (!(error instanceof TransitionRefusedError)) throw error;
        job.refused++;
      }
      job.done++;
      this.#tell(job);
    }
    this.#finish(job, "finished");
  }

  #finish(job: BulkJob, state: BulkJob["state"]): void {
    job.state = state;
    job.finishedAt = new Date(this.deps.clock()).toISOString();
    this.#stopRequested.delete(job.id);
    this.#tell(job);
    this.#listeners.delete(job.id);
  }

  #tell(job: BulkJob): void {
    for (const listener of this.#listeners.get(job.id) ?? []) listener({ ...job });
  }

  #forgetOld(): void {
    for (const [id, job] of this.#jobs) {
      if (this.#jobs.size <= KEPT) return;
      if (job.state !== "running") this.#jobs.delete(id);
    }
  }
}
