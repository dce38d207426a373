import { batchDeliveryId, batchKeyOf, MAX_BATCH_ITEMS } from "../domain/batch-ids.ts";
import type { DeliveryCreated } from "../domain/delivery-events.ts";
import type { JetStreamPublisher } from "./jetstream-publisher.ts";
import { PayloadTooLargeError, publishFailure } from "./journal.ts";
import type { JetStreamLayout } from "./layout.ts";
import { endOfTurn } from "./end-of-turn.ts";
import { concatBytes } from "../domain/bytes.ts";

/**
 * Group commit for ingest: the dispatches accepted in one turn of the event loop are stored as one
 * JetStream message, and each request's 202 waits for that message's acknowledgement. Durability
 * is the same as one message each; NATS stores, acknowledges and replicates once per batch
 * instead of once per request. Workers later expand each batch into the per-delivery journal.
 */

type OpenBatch = {
  key: string;
  time: number;
  random: Uint8Array;
  /** Each delivery's created event, as UTF-8 JSON: the bytes NATS will count. */
  items: Uint8Array[];
  ids: string[];
  bytes: number;
  waiters: { resolve: () => void; reject: (error: Error) => void }[];
};

const WRAPPER_BYTES = 64;
const encoder = new TextEncoder();
const OPEN = encoder.encode('{"deliveries":[');
const CLOSE = encoder.encode("]}");

const COMMA = encoder.encode(",");

/** `{"deliveries":[item,item,…]}` from already encoded items. */
function joinBatch(items: readonly Uint8Array[]): Uint8Array {
  return concatBytes([OPEN, ...items.flatMap((item, index) => (index === 0 ? [item] : [COMMA, item])), CLOSE]);
}

export class IngestBatcher {
  #open: OpenBatch | null = null;

  constructor(
    private readonly deps: {
      publisher: JetStreamPublisher;
      layout: JetStreamLayout;
      clock: () => number;
      randomBytes: (length: number) => Uint8Array;
      /** The largest message NATS takes now (it can change on a reconnect), in bytes. */
      maxPayload: () => number;
      /**
       * Stores one created event on its own (in the journal, exclusively): the way out when a
       * batch is refused as too large, so only an event too large by itself is refused.
       */
      storeOne: (id: string, created: Uint8Array) => Promise<void>;
    },
  ) {}

  /**
   * Adds a delivery to the open batch: `build` makes its created event from the id it gets. Resolves
   * with the id once the batch is stored; null when the event is too large to share a message
   * (the caller stores it on its own).
   */
  async add(build: (id: string, at: number) => DeliveryCreated): Promise<string | null> {
    const limit = this.deps.maxPayload() - WRAPPER_BYTES;
    let batch = this.#openBatch();
    let id = batchDeliveryId(batch.time, batch.random, batch.items.length);
    let item = encoder.encode(JSON.stringify(build(id, batch.time)));
    if (item.length > limit / 2) return null;
    if (batch.bytes + item.length + 1 > limit) {
      this.#flush(batch);
      batch = this.#openBatch();
      id = batchDeliveryId(batch.time, batch.random, 0);
      item = encoder.encode(JSON.stringify(build(id, batch.time)));
    }
    batch.items.push(item);
    batch.ids.push(id);
    batch.bytes += item.length + 1;
    const stored = new Promise<void>((resolve, reject) => batch.waiters.push({ resolve, reject }));
    if (batch.items.length >= MAX_BATCH_ITEMS) this.#flush(batch);
    await stored;
    return id;
  }

  #openBatch(): OpenBatch {
    if (this.#open) return this.#open;
    const random = this.deps.randomBytes(8);
    const time = this.deps.clock();
    const batch: OpenBatch = { key: "", time, random, items: [], ids: [], bytes: WRAPPER_BYTES, waiters: [] };
    batch.key = batchKeyOf(batchDeliveryId(time, random, 0))!;
    this.#open = batch;
    endOfTurn(() => this.#flush(batch));
    return batch;
  }

  #flush(batch: OpenBatch): void {
    if (this.#open === batch) this.#open = null;
    if (batch.items.length === 0) return;
    const { items, ids, waiters } = batch;
    batch.items = [];
    batch.ids = [];
    batch.waiters = [];
    const headers = { "Hookd-Batch-Size": String(items.length) };
    this.deps.publisher.publish(this.deps.layout.subjects.ingestBatch(batch.key), joinBatch(items), { headers }).then(
      () => {
        for (const waiter of waiters) waiter.resolve();
      },
      (error: unknown) => {
        const failure = publishFailure(error);
        if (!(failure instanceof PayloadTooLargeError) || items.length === 1) {
          for (const waiter of waiters) waiter.reject(failure);
          return;
        }
        // NATS's limit shrank under the batch (a reconnect to a server with a smaller max_payload): store each on its own.
        items.forEach((item, index) => {
          this.deps.storeOne(ids[index]!, item).then(
            waiters[index]!.resolve,
            (itemError: unknown) => waiters[index]!.reject(publishFailure(itemError)),
          );
        });
      },
    );
  }
}
