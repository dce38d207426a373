import type { Config } from "../config.ts";
import { createHttpAttempter, type HttpAttempter } from "../delivery/http-attempt.ts";
import { NetworkPolicy } from "../delivery/network-policy.ts";
import { randomBytes } from "../domain/random-pool.ts";
import { DeliveryStore } from "../nats/delivery-store.ts";
import { DeliveryIndex } from "../nats/delivery-index.ts";
import { DeliveryListing } from "../nats/delivery-listing.ts";
import { listingFieldsOf } from "../domain/delivery-listing.ts";
import { IngestBatcher } from "../nats/ingest-batcher.ts";
import { DeliveryCommands } from "../runtime/delivery-commands.ts";
import type { Logger } from "../log.ts";
import { orWhenUnreadable } from "../nats/journal.ts";
import type { Closers } from "./closers.ts";
import type { Storage } from "./storage.ts";

/** Start-up's delivery part: the journal store, the commands users give, and the outbound HTTP client. */

export type DeliveryPart = {
  deliveryStore: DeliveryStore;
  deliveryCommands: DeliveryCommands;
  /** The delivery list's index: written by the indexer (start/indexer.ts), read by the list and counts. */
  deliveryIndex: DeliveryIndex;
  deliveryListing: DeliveryListing;
  policy: NetworkPolicy;
  attempter: HttpAttempter;
};

export function buildDeliveries(config: Config, storage: Storage, log: Logger, closers: Closers): DeliveryPart {
  const deliveryStore = new DeliveryStore(storage.js, storage.jsm, storage.publisher, storage.layout);
  const deliveryCommands = new DeliveryCommands({
    store: deliveryStore,
    batcher: new IngestBatcher({
      publisher: storage.publisher,
      layout: storage.layout,
      clock: Date.now,
      randomBytes,
      maxPayload: storage.maxPayload,
      storeOne: (id, created) => deliveryStore.storeCreatedOnce(id, created),
    }),
    secrets: storage.deliverySecrets,
    clock: Date.now,
    randomBytes,
    schedule: config.HOOKD_RETRY_SCHEDULE,
  });
  const policy = new NetworkPolicy(config.HOOKD_ALLOWED_NETWORKS);
  const attempter = createHttpAttempter({ timeoutMs: config.HOOKD_TIMEOUT, policy });
  closers.push("outbound http client", () => attempter.close());
  // Deliveries journaled before the index carry no listing header: their created event says it (wherever it is).
  // One this hookd cannot read is left out of the index, not retried with its batch forever (which would stall the list).
  const deliveryIndex = new DeliveryIndex(
    storage.jsm,
    storage.publisher,
    storage.layout,
    (id) =>
      orWhenUnreadable(
        deliveryStore.readCreated(id).then((created) => created && listingFieldsOf(created.event)),
        (error) => {
          log.warn(
            { err: error, deliveryId: id },
            "a delivery's created event cannot be read: it is left out of the delivery list",
          );
          return null;
        },
      ),
  );
  const deliveryListing = new DeliveryListing(storage.js, storage.jsm, storage.layout);
  return { deliveryStore, deliveryCommands, deliveryIndex, deliveryListing, policy, attempter };
}
