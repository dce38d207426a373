import type { JetStreamClient } from "@nats-io/jetstream";
import type { DeliveryState } from "../../actors/delivery.machine.ts";
import { DELIVERY_STATES } from "../../actors/delivery.machine.ts";
import type { DeliveryStore, StoredCreated } from "../nats/delivery-store.ts";
import { type JournalChange, watchJournal } from "../nats/journal-watch.ts";
import type { JetStreamLayout } from "../nats/layout.ts";
import type { SubscriptionDirectory } from "../runtime/subscription-directory.ts";
import { patternText } from "../domain/topic-name.ts";
import { LocalBulkJobs } from "./local-bulk-jobs.ts";

/**
 * What the console reads beyond one delivery or subscription: the delivery list with its filters
 * and counts, the live change feed, bulk jobs and fleet statistics. The console's pages are built
 * against these types only; `servicesFromToday` wires them from what hookd has now (a journal
 * scan for the list, ordered consumers for the feeds, bulk jobs run in this instance's memory,
 * nothing for fleet statistics), and the delivery index and the fleet/bulk services replace the
 * parts they own when they land.
 */

/** The deliveries list's filter, as the page's query string carries it. */
export type DeliveryFilter = {
  state?: DeliveryState | undefined;
  /** The target's host name (lower case), e.g. "api.example.com". */
  host?: string | undefined;
  subscription?: string | undefined;
  /** A subscription's topic pattern ("github.com/org/" for a recursive one). */
  topic?: string | undefined;
  eventType?: string | undefined;
  /** Created at or after / before, epoch ms. */
  since?: number | undefined;
  until?: number | undefined;
  /** A delivery id, an event id or an idempotency key. */
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
};

export interface DeliveryIndex {
  page(filter: DeliveryFilter, cursor: string | null, limit: number): Promise<DeliveryPage>;
}

/** One journal message of any delivery, as the list's live updates need it. */
export type DeliveryChange = { id: string; state: DeliveryState; seq: number };

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
};

export interface BulkJobs {
  /** How many deliveries the filter matches now: shown before the user confirms. */
  count(filter: DeliveryFilter): Promise<number>;
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

export type TodayDeps = {
  js: JetStreamClient;
  deliveries: { retry(id: string): Promise<unknown>; cancel(id: string): Promise<unknown> };
  clock: () => number;
  layout: JetStreamLayout;
  store: DeliveryStore;
  directory: SubscriptionDirectory;
};

/** The services as hookd can give them today: see the module comment. */
export function servicesFromToday(deps: TodayDeps): ConsoleServices {
  const index = scanIndex(deps);
  const bulk = new LocalBulkJobs({ index, deliveries: deps.deliveries, clock: deps.clock });
  return { index, changes: journalFeed(deps), bulk, fleet: null };
}

const STATE_HEADER = "Hookd-State";

function journalFeed({ js, layout }: TodayDeps): DeliveryChangeFeed {
  const { journal } = layout.streams;
  return {
    follow(afterSeq, onChange, onLost) {
      const filter = layout.subjects.allDeliveryJournals;
      return watchJournal(js, journal, { filter, afterSeq }, (change) => {
        const parsed = layout.parseSubject(change.subject);
        if (parsed?.kind !== "delivery-created" && parsed?.kind !== "delivery-transitions") return;
        onChange({ id: parsed.id, state: stateOfChange(change), seq: change.seq });
      }, onLost);
    },
    followOne(id, afterSeq, onChange, onLost) {
      const filter = layout.subjects.deliveryTransitions(id);
      return watchJournal(js, journal, { filter, afterSeq }, (change) => onChange(change.seq), onLost);
    },
  };
}

function stateOfChange(change: JournalChange): DeliveryState {
  const state = change.headers[STATE_HEADER] as DeliveryState | undefined;
  return state && DELIVERY_STATES.includes(state) ? state : "pending";
}

export const emptyCounts = (): Record<DeliveryState, number> =>
  Object.fromEntries(DELIVERY_STATES.map((state) => [state, 0])) as Record<DeliveryState, number>;

/**
 * Today's list: one scan of the journal's newest message per delivery (DeliveryStore.list), then
 * the created event of each candidate for the filters the scan cannot answer. Its cost grows with
 * the journal; the delivery index replaces it.
 */
function scanIndex({ store, directory }: TodayDeps): DeliveryIndex {
  return {
    async page(filter, cursor, limit) {
      const all = await store.list({ limit: Number.MAX_SAFE_INTEGER });
      const counts = emptyCounts();
      const rows: DeliveryRow[] = [];
      let more = false;
      for (const listed of all) {
        const created = await store.readCreated(listed.id);
        if (!created || !matches(created, listed.updatedAt, filter, directory)) continue;
        counts[listed.state]++;
        if (filter.state && listed.state !== filter.state) continue;
        if (cursor && listed.id >= cursor) continue;
        if (rows.length === limit) {
          more = true;
          continue;
        }
        rows.push(rowOf(created, listed.state, listed.updatedAt));
      }
      return { rows, nextCursor: more && rows.length > 0 ? rows.at(-1)!.id : null, counts };
    },
  };
}

function rowOf(created: StoredCreated, state: DeliveryState, updatedAt: Date): DeliveryRow {
  const data = created.event.data;
  return {
    id: data.id,
    state,
    target: data.request.url,
    subscriptionId: data.subscriptionId ?? null,
    eventId: data.bodyRef?.eventId ?? null,
    createdAt: created.event.at,
    updatedAt: updatedAt.toISOString(),
  };
}

function matches(created: StoredCreated, _updated: Date, filter: DeliveryFilter, directory: SubscriptionDirectory) {
  const data = created.event.data;
  const at = Date.parse(created.event.at);
  if (filter.since !== undefined && at < filter.since) return false;
  if (filter.until !== undefined && at >= filter.until) return false;
  if (filter.host && hostOf(data.request.url) !== filter.host.toLowerCase()) return false;
  if (filter.subscription && data.subscriptionId !== filter.subscription) return false;
  if (filter.search && ![data.id, data.bodyRef?.eventId, data.idempotencyKey].includes(filter.search)) return false;
  if (filter.eventType && headerOf(data.request.headers, "hookd-event-type") !== filter.eventType) return false;
  if (filter.topic) {
    const target = data.subscriptionId ? directory.index.get(data.subscriptionId) : undefined;
    if (!target || patternText(target.subscription.config) !== filter.topic) return false;
  }
  return true;
}

function hostOf(url: string): string {
  try {
    return new URL(url).hostname.toLowerCase();
  } catch {
    return "";
  }
}

function headerOf(headers: Record<string, string>, name: string): string | undefined {
  return Object.entries(headers).find(([key]) => key.toLowerCase() === name)?.[1];
}
