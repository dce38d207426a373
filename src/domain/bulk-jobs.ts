import { z } from "zod";

/**
 * A bulk action (retry or cancel every delivery a filter matches) as a journaled job: every entry
 * of its journal holds the whole job as it then stood, so the newest entry is the job, whichever
 * instance reads it. These are the job's pure steps, and the rule for taking over a job whose
 * runner stopped renewing it; the runtime runs them and journals each.
 */

export const BULK_ACTIONS = ["retry", "cancel"] as const;
export type BulkAction = (typeof BULK_ACTIONS)[number];

/** "interrupted" is never stored: it is how a running job reads once its instance stopped updating it. */
export type BulkJobState = "running" | "done" | "cancelled" | "failed" | "interrupted";

/** How many failures a job keeps the reasons of. */
export const ERRORS_KEPT = 20;

export const BulkJobSchema = z.object({
  id: z.string(),
  action: z.enum(BULK_ACTIONS),
  /** The filter as given (the API's snake_case form). */
  filter: z.record(z.string(), z.unknown()),
  state: z.enum(["running", "done", "cancelled", "failed"]),
  /** The deliveries the filter matched when the job started. */
  total: z.number().int().nonnegative(),
  done: z.number().int().nonnegative(),
  failed: z.number().int().nonnegative(),
  errors: z.array(z.object({ delivery_id: z.string(), error: z.string() })),
  cancel_requested: z.boolean(),
  /** Which instance runs it. */
  instance: z.string(),
  /**
   * Who holds the job's lease: the instance's name and a suffix drawn when it started, so an instance
   * restarted under the same name (HOOKD_INSTANCE_ID) is a different runner.
   */
  runner: z.string().default(""),
  /** How many of the job's deliveries (its journaled list, in order) were acted on: where a takeover goes on from. */
  cursor: z.number().int().nonnegative().default(0),
  /** Pages of the job's list of deliveries (0: a job journaled before lists were, which cannot be resumed). */
  id_pages: z.number().int().nonnegative().default(0),
  /** The runner's newest renewal of its lease (it renews while it runs, progress or not). */
  heartbeat_at: z.string().nullable().default(null),
  /** Each time another instance took the job over from a runner that stopped renewing it. */
  takeovers: z.array(z.object({
    from: z.string(),
    instance: z.string(),
    at: z.string(),
    cursor: z.number().int().nonnegative(),
  })).default([]),
  created_at: z.string(),
  updated_at: z.string(),
  finished_at: z.string().nullable(),
  /** Why a job failed as a whole. */
  reason: z.string().nullable(),
});
export type BulkJob = z.infer<typeof BulkJobSchema>;

const iso = (ms: number) => new Date(ms).toISOString();

export function newBulkJob(
  spec: {
    id: string;
    action: BulkAction;
    filter: Record<string, unknown>;
    instance: string;
    runner: string;
    total: number;
    id_pages: number;
  },
  now: number,
): BulkJob {
  return {
    ...spec,
    state: "running",
    done: 0,
    failed: 0,
    errors: [],
    cancel_requested: false,
    cursor: 0,
    heartbeat_at: iso(now),
    takeovers: [],
    created_at: iso(now),
    updated_at: iso(now),
    finished_at: null,
    reason: null,
  };
}

export const isFinished = (job: BulkJob): boolean =>
  job.state === "done" || job.state === "cancelled" || job.state === "failed";

export type ItemResult = { deliveryId: string; error: string | null };

export function progressed(job: BulkJob, results: readonly ItemResult[], now: number): BulkJob {
  const failures = results.filter((result) => result.error !== null);
  const errors = [
    ...job.errors,
    ...failures.map((result) => ({ delivery_id: result.deliveryId, error: result.error! })),
  ].slice(0, ERRORS_KEPT);
  return {
    ...job,
    done: job.done + results.length - failures.length,
    failed: job.failed + failures.length,
    cursor: job.cursor + results.length,
    errors,
    updated_at: iso(now),
    heartbeat_at: iso(now),
  };
}

/** The runner still holds the job: a new entry, so instances watching for a stalled job see it move. */
export function renewed(job: BulkJob, now: number): BulkJob {
  return { ...job, heartbeat_at: iso(now) };
}

/** What an instance does with an unfinished job whose journal it watches. */
export type TakeoverStep =
  /** Nothing: finished. */
  | "none"
  /** Its runner may be alive: its record moved within the lease. */
  | "wait"
  /** Its runner stopped: go on from its cursor. */
  | "take-over"
  /** Its runner stopped after a cancel was asked for: end it as cancelled, acting on nothing more. */
  | "close-cancelled"
  /** Its runner stopped and its list of deliveries was never journaled (an older hookd started it): end it as failed. */
  | "give-up";

/**
 * The takeover rule. `quietMs` is how long the watching instance has seen the job's record stay at
 * the same journal entry, on its own clock: no clocks of two machines are compared. A runner renews
 * the record every third of `leaseMs`, so a record that stays still for `leaseMs` lost its runner
 * (dead, cut off from NATS, or paused for longer than the lease, which then stops at its next write).
 */
export function takeoverStep(job: BulkJob, quietMs: number, leaseMs: number): TakeoverStep {
  if (isFinished(job)) return "none";
  if (quietMs < leaseMs) return "wait";
  if (job.cancel_requested) return "close-cancelled";
  if (job.id_pages === 0 && job.cursor < job.total) return "give-up";
  return "take-over";
}

/** The job as a new runner claims it (written at the entry it was read at, so two claimants cannot both win). */
export function takenOver(job: BulkJob, by: { instance: string; runner: string }, now: number): BulkJob {
  return {
    ...job,
    instance: by.instance,
    runner: by.runner,
    takeovers: [...job.takeovers, { from: job.instance, instance: by.instance, at: iso(now), cursor: job.cursor }],
    updated_at: iso(now),
    heartbeat_at: iso(now),
  };
}

/**
 * Of a job's deliveries, those its previous runner may have acted on without journaling it: the
 * chunk after the cursor (a runner journals its progress after each chunk, before the next one).
 */
export function inDoubt(cursor: number, chunk: number, total: number): { from: number; to: number } {
  return { from: cursor, to: Math.min(cursor + chunk, total) };
}

export function finished(job: BulkJob, state: "done" | "cancelled" | "failed", now: number, reason?: string): BulkJob {
  return { ...job, state, updated_at: iso(now), finished_at: iso(now), reason: reason ?? job.reason };
}

export function cancelRequested(job: BulkJob, now: number): BulkJob {
  return isFinished(job) ? job : { ...job, cancel_requested: true, updated_at: iso(now) };
}

/**
 * The job as the API shows it: a job whose runner has not renewed it for `staleMs` while
 * unfinished lost its instance and no other live instance took it over (there is none, or none
 * reaches NATS), and reads as "interrupted" until one does. `taken_over` says whether any did.
 */
export function bulkJobView(
  job: BulkJob,
  now: number,
  staleMs: number,
): Omit<BulkJob, "state" | "runner" | "id_pages"> & {
  state: BulkJobState;
  taken_over: boolean;
} {
  const { runner: _runner, id_pages: _pages, ...shown } = job;
  const lastSign = Math.max(Date.parse(job.updated_at), job.heartbeat_at ? Date.parse(job.heartbeat_at) : 0);
  const stale = !isFinished(job) && now - lastSign > staleMs;
  return { ...shown, state: stale ? "interrupted" : job.state, taken_over: job.takeovers.length > 0 };
}

/**
 * How long a run waits before acting on more deliveries, having acted on `acted` of them since it
 * started `elapsedMs` ago, to stay under `rate` a second (HOOKD_BULK_RATE; 0: no limit).
 */
export function paceWaitMs(acted: number, rate: number, elapsedMs: number): number {
  return rate > 0 ? Math.max(0, (acted * 1_000) / rate - elapsedMs) : 0;
}
