import { jetstream } from "@nats-io/jetstream";
import { hostname } from "node:os";
import type { Config } from "../config.ts";
import type { Logger } from "../log.ts";
import { startDeliveryIndexer } from "../runtime/delivery-indexer.ts";
import type { Closers } from "./closers.ts";
import type { DeliveryPart } from "./deliveries.ts";
import type { Storage } from "./storage.ts";

/**
 * Start-up's delivery indexer: every instance offers to keep the delivery list's index (an
 * instance that only accepts serves the list too), and one at a time does (a lease in NATS). Its name in the lease is the instance's
 * and a random suffix, so two instances in one process (the tests) are two candidates.
 */
const CONSUMER_START_TIMEOUT_MS = 120_000;

export function startIndexer(
  config: Config,
  storage: Storage,
  deliveryPart: DeliveryPart,
  log: Logger,
  closers: Closers,
): void {
  const suffix = Math.random().toString(36).slice(2, 8);
  const domain = config.HOOKD_JS_DOMAIN === undefined ? {} : { domain: config.HOOKD_JS_DOMAIN };
  const indexer = startDeliveryIndexer({
    // Its consumer starts where the checkpoint is; on a large journal not yet indexed the server counts
    // everything after that before it answers, which takes longer than an API call's usual 5 s.
    js: jetstream(storage.link.nc, { ...domain, timeout: CONSUMER_START_TIMEOUT_MS }),
    index: deliveryPart.deliveryIndex,
    layout: storage.layout,
    log,
    clock: Date.now,
    owner: `${config.HOOKD_INSTANCE_ID ?? `${hostname()}:${process.pid}`}:${suffix}`,
  });
  closers.push("delivery indexer", () => indexer.stop());
}
