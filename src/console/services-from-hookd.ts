import type { DeliveryChange as HookdChange } from "../domain/delivery-changes.ts";
import type { JetStreamClient } from "@nats-io/jetstream";
import { DELIVERY_STATES, type DeliveryState } from "../../actors/delivery.machine.ts";
import { cursorKindOf, decodeCursor, encodeCursor, filterTokens } from "../domain/delivery-listing.ts";
import type { BulkJobView } from "../runtime/bulk-jobs.ts";
import type { ConsoleServices as HookdServices } from "../runtime/console-services.ts";
import type { DeliveryChangeFeed as SharedFeed } from "../nats/delivery-change-feed.ts";
import type { IndexEntry } from "../nats/delivery-index.ts";
import { watchJournal } from "../nats/journal-watch.ts";
import type { JetStreamLayout } from "../nats/layout.ts";
import { countDeliveries, type DeliveryListDeps, listDeliveries } from "../runtime/delivery-list.ts";
import type { DeliveryFilter as BulkFilter } from "../runtime/delivery-filter.ts";
import { ActorNotFoundError } from "../runtime/errors.ts";
import type { FleetSnapshot as HookdFleet } from "../runtime/fleet-stats.ts";
import type {
  BulkJob,
  BulkJobs,
  ConsoleServices,
  DeliveryChangeFeed,
  DeliveryFilter,
  DeliveryIndex,
  DeliveryRow,
  FleetSnapshot,
  FleetStats,
} from "./services.ts";

/**
 * The console's services (services.ts) from hookd's own: the list and its counts from the
 * delivery index, the list's live updates from the index's own entries, one
 * delivery's updates from its own journal subject, and bulk jobs and fleet figures from the
 * services the API serves (runtime/console-services.ts). The pages see the console's types only;
 * this file is the one place that translates.
 */

export type HookdServiceDeps = {
  listing: DeliveryListDeps;
  feed: SharedFeed;
  services: HookdServices;
  js: JetStreamClient;
  layout: JetStreamLayout;
};

export function consoleServicesOf(deps: HookdServiceDeps): ConsoleServices {
  return {
    index: indexOf(deps),
    changes: changesOf(deps),
    bulk: bulkOf(deps.services),
    fleet: fleetOf(deps.services),
  };
}

function indexOf({ listing, js, layout }: HookdServiceDeps): DeliveryIndex {
  return {
    // The index's subjects name each entry's facets, so the server hands a page only its own changes.
    follow(filter, afterSeq, onChange, onLost) {
      const subject = layout.subjects.indexFilter(null, filterTokens(facetsOf(filter)));
      return watchJournal(
        js,
        layout.streams.index,
        { filter: subject, afterSeq },
        (change) => onChange(change.seq),
        onLost,
      );
    },
    async page(filter, cursor, limit) {
      const facets = facetsOf(filter);
      const kind = cursorKindOf(filter.search ? { q: filter.search } : {});
      const decoded = cursor === null ? null : decodeCursor(cursor);
      // A cursor of the other kind (a search's on a plain page) starts the list from its top.
      const beforeSeq = decoded?.kind === kind ? decoded.beforeSeq : null;
      const [page, counted] = await Promise.all([
        listDeliveries(listing, {
          ...facets,
          ...(filter.state ? { state: filter.state } : {}),
          ...(beforeSeq === null ? {} : { beforeSeq }),
          ...(filter.since === undefined ? {} : { since: new Date(filter.since) }),
          ...(filter.until === undefined ? {} : { until: new Date(filter.until) }),
          ...(filter.search ? { q: filter.search } : {}),
          limit,
        }),
        countDeliveries(listing, facets),
      ]);
      return {
        rows: page.entries.map(rowOf),
        nextCursor: page.nextBefore === null ? null : encodeCursor(page.nextBefore, kind),
        counts: counted.counts as Record<DeliveryState, number>,
        indexSeq: page.indexSeq,
      };
    },
  };
}

function facetsOf(filter: DeliveryFilter) {
  return {
    ...(filter.host ? { host: filter.host } : {}),
    ...(filter.subscription ? { subscriptionId: filter.subscription } : {}),
    ...(filter.topic ? { topic: filter.topic } : {}),
    ...(filter.eventType ? { eventType: filter.eventType } : {}),
  };
}

function rowOf(entry: IndexEntry): DeliveryRow {
  return {
    id: entry.id,
    state: DELIVERY_STATES.includes(entry.state as DeliveryState) ? entry.state as DeliveryState : "pending",
    target: entry.fields.target,
    subscriptionId: entry.fields.subscriptionId,
    eventId: entry.fields.eventId,
    createdAt: entry.fields.createdAt,
    updatedAt: entry.updatedAt,
  };
}

function changesOf({ feed, js, layout }: HookdServiceDeps): DeliveryChangeFeed {
  return {
    async follow(afterSeq, onChange, onLost) {
      const reader = {
        deliver: (changes: readonly HookdChange[]) => {
          for (const change of changes) {
            if (change.seq <= afterSeq) continue;
            onChange({
              id: change.deliveryId,
              from: change.from as DeliveryState | null,
              state: change.to as DeliveryState,
              seq: change.seq,
              targetHost: change.targetHost?.toLowerCase() ?? null,
              subscriptionId: change.subscriptionId,
            });
          }
        },
        lost: onLost,
      };
      const attached = afterSeq > 0 ? await feed.attachAfter(afterSeq, reader) : await feed.attach(reader);
      return { stop: () => attached.detach() };
    },
    // One delivery's page follows its own subject: no work for deliveries it does not show.
    followOne(id, afterSeq, onChange, onLost) {
      const filter = layout.subjects.deliveryTransitions(id);
      return watchJournal(js, layout.streams.journal, { filter, afterSeq }, (change) => onChange(change.seq), onLost);
    },
  };
}

function bulkOf(services: HookdServices): BulkJobs {
  return {
    count: (filter) => services.countDeliveries(bulkFilterOf(filter)),
    start: async (action, filter) => bulkJobOf(await services.startBulkAction(action, bulkFilterOf(filter)), filter),
    get: async (id) => bulkJobOf(await services.bulkJob(id).catch(nullWhenUnknown), null),
    cancel: async (id) => bulkJobOf(await services.cancelBulkJob(id).catch(nullWhenUnknown), null),
    async follow(id, onProgress) {
      const stop = await services.watchBulkJob(id, (job) => onProgress(bulkJobOf(job, null)!));
      return { stop };
    },
  };
}

function nullWhenUnknown(error: unknown): null {
  if (error instanceof ActorNotFoundError) return null;
  throw error;
}

/**
 * The console's filter as a bulk action takes it, matching what the list shows: the host exactly as
 * the list's (host[:port], no port meaning the scheme's default), since/until on the last state change.
 * A search is no filter a bulk job can hold; the bulk page refuses one before it gets here.
 */
function bulkFilterOf(filter: DeliveryFilter): BulkFilter {
  return {
    ...(filter.state ? { state: filter.state } : {}),
    ...(filter.host ? { target_host: filter.host, target_host_exact: true } : {}),
    ...(filter.subscription ? { subscription_id: filter.subscription } : {}),
    ...(filter.topic ? { topic: filter.topic } : {}),
    ...(filter.eventType ? { event_type: filter.eventType } : {}),
    ...(filter.since === undefined ? {} : { changed_after: new Date(filter.since).toISOString() }),
    ...(filter.until === undefined ? {} : { changed_before: new Date(filter.until).toISOString() }),
  };
}

function consoleFilterOf(filter: Record<string, unknown>): DeliveryFilter {
  const text = (key: string) => (typeof filter[key] === "string" ? filter[key] as string : undefined);
  const time = (key: string) => (text(key) === undefined ? undefined : Date.parse(text(key)!));
  return {
    state: text("state") as DeliveryState | undefined,
    host: text("target_host"),
    subscription: text("subscription_id"),
    topic: text("topic"),
    eventType: text("event_type"),
    since: time("changed_after"),
    until: time("changed_before"),
  };
}

function bulkJobOf<T extends BulkJobView | null>(
  job: T,
  filter: DeliveryFilter | null,
): T extends null ? null : BulkJob;
function bulkJobOf(job: BulkJobView | null, filter: DeliveryFilter | null): BulkJob | null {
  if (!job) return null;
  return {
    id: job.id,
    action: job.action,
    filter: filter ?? consoleFilterOf(job.filter),
    total: job.total,
    // The console counts every delivery acted on, and among them those refused.
    done: job.done + job.failed,
    refused: job.failed,
    state: job.state === "done" ? "finished" : job.state === "interrupted" ? "failed" : job.state,
    startedAt: job.created_at,
    finishedAt: job.finished_at,
    instance: job.instance,
    takenOverFrom: job.takeovers.map((takeover) => takeover.from),
  };
}

function fleetOf(services: HookdServices): FleetStats {
  return {
    snapshot: async (windowMs) => fleetSnapshotOf(await services.fleet(), windowMs),
    async follow(windowMs, onSnapshot) {
      let stopped = false;
      const stop = services.watchFleet(() => {
        // A failed read (NATS away at a recount) or render skips this snapshot; the next change sends one.
        void services.fleet().then((fleet) => stopped || onSnapshot(fleetSnapshotOf(fleet, windowMs))).catch(() => {});
      });
      return {
        stop: () => {
          stopped = true;
          stop();
        },
      };
    },
  };
}

/** The fleet's figures; the window is the instance's (HOOKD_FLEET_WINDOW), whatever the page asked. */
function fleetSnapshotOf(fleet: HookdFleet, _windowMs: number): FleetSnapshot {
  return {
    at: fleet.to,
    windowMs: fleet.window_minutes * 60_000,
    windowComplete: fleet.window_complete,
    states: Object.fromEntries(DELIVERY_STATES.map((state) => [state, fleet.states[state] ?? 0])) as Record<
      DeliveryState,
      number
    >,
    transitions: fleet.transitions.map((t) => ({
      from: t.from ?? "(created)",
      event: t.event,
      to: t.to,
      count: t.count,
    })),
    targets: fleet.hosts.map((host) => ({
      host: host.host,
      attempts: host.attempts,
      successRate: host.success_rate,
      p50LatencyMs: host.p50_ms,
      series: host.minutes.map((minute) => ({
        at: Date.parse(minute.start),
        successRate: minute.success_rate,
        latencyMs: minute.p50_ms,
      })),
    })),
  };
}
