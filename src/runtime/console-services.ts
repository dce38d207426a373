import type { BulkAction } from "../domain/bulk-jobs.ts";
import type { ChangeFilter } from "../domain/delivery-changes.ts";
import type { BulkJobs, BulkJobView } from "./bulk-jobs.ts";
import type { ChangeListener, ChangeOutput } from "./change-listener.ts";
import type { ChangeStreams } from "./change-streams.ts";
import type { DeliveryFilter } from "./delivery-filter.ts";
import type { FleetSnapshot, FleetStats, StateCounts } from "./fleet-stats.ts";

/**
 * What the console (and the JSON API beside it) asks of hookd beyond single deliveries: the live
 * change feed, the fleet's figures, and bulk actions. One object, built at start, so the console's
 * pages call the same functions the API routes call, in process.
 */

export type ConsoleServices = {
  /**
   * Follows delivery changes that `filter` wants, resuming after journal sequence `after` (null: from
   * now). Every listener shares the instance's one feed; `output` gets the changes and must keep its
   * buffer small (past HOOKD_STREAM_BUFFER the listener is ended with "slow-consumer" and its last id).
   * Call `catchUp()` on the result once `output` can send. `signal` ends it when the client goes. With a
   * `token`, one token holds at most HOOKD_STREAM_MAX_PER_TOKEN of them (TooManyStreamsError).
   */
  openChanges(
    spec: { filter: ChangeFilter; after: number | null; token?: string },
    output: ChangeOutput,
    signal?: AbortSignal,
  ): Promise<ChangeListener>;
  /** The fleet's figures: deliveries per state now, and the window's states entered, transitions and hosts. */
  fleet(): Promise<FleetSnapshot>;
  /** Deliveries per state now (the fleet's `states`). */
  stateCounts(): Promise<StateCounts>;
  /** Calls `watcher` at most once a second while the fleet's figures move; returns how to stop. */
  watchFleet(watcher: () => void): () => void;
  /** How many deliveries `filter` matches (a bulk action's dry run). */
  countDeliveries(filter: DeliveryFilter): Promise<{ count: number; truncated: boolean }>;
  /** Starts retrying or cancelling every delivery `filter` matches, in the background. */
  startBulkAction(action: BulkAction, filter: DeliveryFilter): Promise<BulkJobView>;
  /** A bulk job as journaled (any instance's); ActorNotFoundError when there is none. */
  bulkJob(id: string): Promise<BulkJobView>;
  /** Asks a bulk job to stop (from any instance). */
  cancelBulkJob(id: string): Promise<BulkJobView>;
  /** Calls `watcher` with the job's newest record and each one journaled after it (by any instance); resolves to how to stop. */
  watchBulkJob(id: string, watcher: (job: BulkJobView) => void): Promise<() => void>;
};

export function consoleServices(parts: {
  changeStreams: ChangeStreams;
  fleet: FleetStats;
  bulkJobs: BulkJobs;
}): ConsoleServices {
  const { changeStreams, fleet, bulkJobs } = parts;
  return {
    openChanges: (spec, output, signal) => changeStreams.open(spec, output, signal),
    fleet: () => fleet.snapshot(),
    stateCounts: () => fleet.stateCounts(),
    watchFleet: (watcher) => fleet.watch(watcher),
    countDeliveries: (filter) => bulkJobs.count(filter),
    startBulkAction: (action, filter) => bulkJobs.start(action, filter),
    bulkJob: (id) => bulkJobs.get(id),
    cancelBulkJob: (id) => bulkJobs.cancel(id),
    watchBulkJob: (id, watcher) => bulkJobs.watch(id, watcher),
  };
}
