import { hostname } from "node:os";
import type { Config } from "../config.ts";
import { randomBytes } from "../domain/random-pool.ts";
import type { Logger } from "../log.ts";
import { BulkJobStore } from "../nats/bulk-job-store.ts";
import { DeliveryChangeFeed } from "../nats/delivery-change-feed.ts";
import type { DeliveryListing } from "../nats/delivery-listing.ts";
import { BulkJobs } from "../runtime/bulk-jobs.ts";
import { ChangeStreams } from "../runtime/change-streams.ts";
import { type ConsoleServices, consoleServices } from "../runtime/console-services.ts";
import { resolveDeliveryFilter } from "../runtime/delivery-filter.ts";
import type { DeliveryCommands } from "../runtime/delivery-commands.ts";
import { FleetStats, type StateCounts } from "../runtime/fleet-stats.ts";
import type { Closers } from "./closers.ts";
import type { Storage } from "./storage.ts";

/**
 * Start-up's part for the console's services: the journal's shared change feed (started here, after
 * reading back the fleet window), the change streams on it, the fleet statistics and bulk jobs (with
 * the watch for jobs another instance left behind, which this one takes over).
 */

export type ConsolePart = { services: ConsoleServices; changeStreams: ChangeStreams; feed: DeliveryChangeFeed };

export async function startConsoleServices(
  config: Config,
  parts: { storage: Storage; deliveryListing: DeliveryListing; deliveryCommands: DeliveryCommands },
  log: Logger,
  closers: Closers,
): Promise<ConsolePart> {
  const { storage, deliveryListing } = parts;
  const feed = new DeliveryChangeFeed(storage.js, storage.jsm, log, storage.layout);
  closers.push("delivery change feed", () => feed.stop());
  const fleet = new FleetStats({
    feed,
    countStates: async () => (await deliveryListing.counts({})).counts as StateCounts,
    log,
    windowMinutes: config.HOOKD_FLEET_WINDOW / 60_000,
    maxHosts: config.HOOKD_FLEET_HOSTS,
    clock: Date.now,
  });
  closers.push("fleet statistics", () => fleet.stop());
  const changeStreams = new ChangeStreams({
    feed,
    log,
    bufferBytes: config.HOOKD_STREAM_BUFFER,
    heartbeatMs: config.HOOKD_STREAM_HEARTBEAT,
    maxPerToken: config.HOOKD_STREAM_MAX_PER_TOKEN,
  });
  closers.push("change streams", () => changeStreams.closeAll());
  const bulkJobs = new BulkJobs({
    store: new BulkJobStore(storage.js, storage.jsm, storage.publisher, storage.layout),
    deliveries: parts.deliveryCommands,
    resolve: (filter, limit) => resolveDeliveryFilter({ listing: deliveryListing }, filter, limit),
    maxDeliveries: config.HOOKD_BULK_MAX,
    rate: config.HOOKD_BULK_RATE,
    instance: config.HOOKD_INSTANCE_ID ?? `${hostname()}:${process.pid}`,
    clock: Date.now,
    randomBytes,
    log,
  });
  closers.push("bulk jobs", () => bulkJobs.stop());
  // Jobs whose instance died are taken over by a live one: every instance watches for them.
  await bulkJobs.startTakeovers();
  return { services: consoleServices({ changeStreams, fleet, bulkJobs }), changeStreams, feed };
}
