import { z } from "zod";

/**
 * A bulk action (retry or cancel every delivery a filter matches) as a journaled job: every entry
 * of its journal holds the whole job as it then stood, so the newest entry is the job, whichever
 * instance reads it. These are the job's pure steps; the runtime runs them and journals each.
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
  created_at: z.string(),
  updated_at: z.string(),
  finished_at: z.string().nullable(),
  /** Why a job failed as a whole. */
  reason: z.string().nullable(),
});
export type BulkJob = z.infer<typeof BulkJobSchema>;

const iso = (ms: number) => new Date(ms).toISOString();

export function newBulkJob(
  spec: { id: string; action: BulkAction; filter: Record<string, unknown>; instance: string; total: number },
  now: number,
): BulkJob {
  return {
    ...spec,
    state: "running",
    done: 0,
    failed: 0,
    errors: [],
    cancel_requested: false,
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
    errors,
    updated_at: iso(now),
  };
}

export function finished(job: BulkJob, state: "done" | "cancelled" | "failed", now: number, reason?: string): BulkJob {
  return { ...job, state, updated_at: iso(now), finished_at: iso(now), reason: reason ?? job.reason };
}

export function cancelRequested(job: BulkJob, now: number): BulkJob {
  return isFinished(job) ? job : { ...job, cancel_requested: true, updated_at: iso(now) };
}

/**
 * The job as the API shows it: a job whose record has not moved for `staleMs` while unfinished
 * lost the instance that ran it (a crash, a kill), and reads as "interrupted".
 */
export function bulkJobView(job: BulkJob, now: number, staleMs: number): Omit<BulkJob, "state"> & {
  state: BulkJobState;
} {
  const stale = !isFinished(job) && now - Date.parse(job.updated_at) > staleMs;
  return stale ? { ...job, state: "interrupted" } : job;
}
