import type { DeliveryState } from "../../actors/delivery.machine.ts";

/**
 * What the console reads beyond one delivery or subscription: the delivery list with its filters
 * and counts, the live change feed, bulk jobs and fleet statistics. The console's pages are built
 * against these types only; services-from-hookd.ts wires them from the delivery index, the shared
 * change feed, and the bulk jobs and fleet figures the API serves.
 */

/** The deliveries list's filter, as the page's query string carries it. */
export type DeliveryFilter = {
  state?: DeliveryState | undefined;
  /** The target's host[:port] (lower case, no port when it is the scheme's default), as the delivery list takes it. */
  host?: string | undefined;
  subscription?: string | undefined;
  /** The topic of the event a fan-out delivery carries. */
  topic?: string | undefined;
  eventType?: string | undefined;
  /** Last state change at or after / before, epoch ms (a bulk action takes them as changed_after/changed_before). */
  since?: number | undefined;
  until?: number | undefined;
  /** A delivery id or an event id. */
  search?: string | undefined;
};

export type DeliveryRow = {
  id: string;
  state: DeliveryState;
  target: string;
  subscriptionId: string | null;
  eventId: string | null;
  createdAt: string;
  updatedAt: string;
};

export type DeliveryPage = {
  rows: DeliveryRow[];
  /** Pass back as `cursor` for the next (older) page; null on the last one. */
  nextCursor: string | null;
  /** Deliveries per state among those matching the filter without its state. */
  counts: Record<DeliveryState, number>;
  /** The index's sequence this page was read at: its live stream starts after it, so no change in between is lost. */
  indexSeq: number;
};

export interface DeliveryIndex {
  page(filter: DeliveryFilter, cursor: string | null, limit: number): Promise<DeliveryPage>;
  /**
   * Calls `onChange` with the index's sequence each time the index records a change that can alter
   * a page with this filter (a delivery with its host, subscription, topic and event type was created
   * or changed state), after `afterSeq` (0: from now on); `onLost` once if it ends for good. It
   * follows the index rather than the journal, so a page read on a change already shows it.
   */
  follow(
    filter: DeliveryFilter,
    afterSeq: number,
    onChange: (seq: number) => void,
    onLost: () => void,
  ): Promise<Following>;
}

/** One journal message of any delivery, as the fleet page counts it when hookd has no fleet statistics. */
export type DeliveryChange = {
  id: string;
  /** null for the delivery's creation. */
  from: DeliveryState | null;
  state: DeliveryState;
  seq: number;
  /** host[:port] of the delivery's URL as the list's host filter reads it; null when the journal entry does not say. */
  targetHost: string | null;
  subscriptionId: string | null;
};

export type Following = { stop(): void };

export interface DeliveryChangeFeed {
  /**
   * Calls `onChange` for every delivery journal message after `afterSeq` (0: from now on), in order;
   * `onLost` once if the feed ends for good (the page then reconnects with Last-Event-ID).
   */
  follow(afterSeq: number, onChange: (change: DeliveryChange) => void, onLost: () => void): Promise<Following>;
  /** The same, for one delivery's journal (the delivery page). */
  followOne(id: string, afterSeq: number, onChange: (seq: number) => void, onLost: () => void): Promise<Following>;
}

export type BulkAction = "retry" | "cancel";

export type BulkJob = {
  id: string;
  action: BulkAction;
  filter: DeliveryFilter;
  /** Deliveries that matched when the job started: what the progress counts up to. */
  total: number;
  /** Deliveries acted on so far, and among them those the machine refused (e.g. retrying a delivered one). */
  done: number;
  refused: number;
  state: "running" | "finished" | "cancelled" | "failed";
  startedAt: string;
  finishedAt: string | null;
  /** The hookd instance running it, and those it was taken over from (their runner stopped), oldest first. */
  instance: string;
  takenOverFrom: string[];
};

export interface BulkJobs {
  /** How many deliveries the filter matches now, shown before the user confirms; `truncated` when more than a job takes. */
  count(filter: DeliveryFilter): Promise<{ count: number; truncated: boolean }>;
  /** Starts the job in the background (journaled as it goes); answers at once. */
  start(action: BulkAction, filter: DeliveryFilter): Promise<BulkJob>;
  get(id: string): Promise<BulkJob | null>;
  cancel(id: string): Promise<BulkJob | null>;
  /** Calls `onProgress` on every change of the job, from any instance, until it ends or `stop()`. */
  follow(id: string, onProgress: (job: BulkJob) => void): Promise<Following>;
}

/** A transition of the delivery machine, named as machine-graph.ts names it. */
export type TransitionKey = { from: string; event: string; to: string };

export type TargetStats = {
  host: string;
  attempts: number;
  /** 0..1 over the window; null without attempts. */
  successRate: number | null;
  p50LatencyMs: number | null;
  /** One point per bucket, oldest first: epoch ms, success rate (0..1) and median latency. */
  series: { at: number; successRate: number | null; latencyMs: number | null }[];
};

export type FleetSnapshot = {
  at: string;
  windowMs: number;
  /** Deliveries in each state now. */
  states: Record<DeliveryState, number>;
  /** Transitions taken in the window. */
  transitions: (TransitionKey & { count: number })[];
  targets: TargetStats[];
  /** False while hookd still reads the window back from the journal. */
  windowComplete: boolean;
};

export interface FleetStats {
  snapshot(windowMs: number): Promise<FleetSnapshot>;
  /** A new snapshot whenever the counts change (at most a few a second), until `stop()`. */
  follow(windowMs: number, onSnapshot: (snapshot: FleetSnapshot) => void): Promise<Following>;
}

export type ConsoleServices = {
  index: DeliveryIndex;
  changes: DeliveryChangeFeed;
  /** null until the bulk-job service is plugged in: the page then says bulk actions are unavailable. */
  bulk: BulkJobs | null;
  /** null until the fleet statistics are plugged in. */
  fleet: FleetStats | null;
};
