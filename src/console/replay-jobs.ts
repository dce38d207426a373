import { ulid } from "../domain/ids.ts";
import type { ReplayProgress } from "../runtime/replay.ts";

/**
 * Replays started from the console, run in the background of the instance that started them, with
 * their progress for the page that follows them. A replay is itself idempotent (replay.ts), so
 * the console only keeps how far it got; a restart forgets the progress, not the deliveries made.
 */

export type ReplayJob = {
  id: string;
  subscriptionId: string;
  progress: ReplayProgress;
  state: "running" | "finished" | "failed";
  error: string | null;
  truncated: boolean;
};

type Listener = (job: ReplayJob) => void;

/** Finished jobs kept for a late page to read. */
const KEPT = 100;

export class ReplayJobs {
  readonly #jobs = new Map<string, ReplayJob>();
  readonly #listeners = new Map<string, Set<Listener>>();

  start(
    subscriptionId: string,
    run: (replayId: string, onProgress: (p: ReplayProgress) => void) => Promise<{ truncated: boolean }>,
  ): ReplayJob {
    const id = "rpl_" + ulid(Date.now(), crypto.getRandomValues(new Uint8Array(10)));
    const job: ReplayJob = {
      id,
      subscriptionId,
      progress: { events: 0, deliveries: 0, atMost: 0 },
      state: "running",
      error: null,
      truncated: false,
    };
    this.#jobs.set(id, job);
    this.#forgetOld();
    void run(id, (progress) => this.#update(job, { progress })).then(
      (result) => this.#update(job, { state: "finished", truncated: result.truncated }),
      (error: unknown) => this.#update(job, { state: "failed", error: (error as Error)?.message ?? String(error) }),
    );
    return job;
  }

  get(id: string): ReplayJob | null {
    return this.#jobs.get(id) ?? null;
  }

  /** Calls `listener` with the job now and on every change; returns how to stop. */
  follow(id: string, listener: Listener): () => void {
    const job = this.#jobs.get(id);
    if (job) listener(job);
    const set = this.#listeners.get(id) ?? new Set();
    set.add(listener);
    this.#listeners.set(id, set);
    return () => set.delete(listener);
  }

  #update(job: ReplayJob, change: Partial<ReplayJob>): void {
    Object.assign(job, change);
    for (const listener of this.#listeners.get(job.id) ?? []) listener({ ...job });
    if (job.state !== "running") this.#listeners.delete(job.id);
  }

  #forgetOld(): void {
    for (const [id, job] of this.#jobs) {
      if (this.#jobs.size <= KEPT) return;
      if (job.state !== "running") this.#jobs.delete(id);
    }
  }
}
