import { batchDeliveryId, batchKeyOf, MAX_BATCH_ITEMS } from "../domain/batch-ids.ts";
import type { DeliveryCreated } from "../domain/delivery-events.ts";
import type { JetStreamPublisher } from "./jetstream-publisher.ts";
import { publishFailure } from "./journal.ts";
import { subjects } from "./streams.ts";
import { endOfTurn } from "./end-of-turn.ts";

/**
 * Group commit for ingest: the dispatches accepted in one turn of the event loop are stored as one
 * JetStream message, and each request's 202 waits for that message's acknowledgement. Durability
 * is the same as one message each; NATS stores, acknowledges and replicates once per batch
 * instead of once per request. Workers later spread each batch into the per-delivery journal.
 */

type OpenBatch = {
  key: string;
  time: number;
  random: Uint8Array;
  items: string[];
  bytes: number;
  waiters: { resolve: () => void; reject: (error: Error) => void }[];
};


const WRAPPER_BYTES = 64;

export class IngestBatcher {
  #open: OpenBatch | null = null;

  constructor(
    private readonly deps: {
      publisher: JetStreamPublisher;
      clock: () => number;
      randomBytes: (length: number) => Uint8Array;
      /** The largest message NATS takes, less room for the wrapper. */
      maxBatchBytes: number;
    },
  ) {}

  /**
   * Adds a delivery to the open batch: `build` makes its created event from the id it gets. Resolves
   * with the id once the batch is stored; null when the event is too large to share a message
   * (the caller stores it on its own).
   */
  async add(build: (id: string, at: number) => DeliveryCreated): Promise<string | null> {
    let batch = this.#openBatch();
    let id = batchDeliveryId(batch.time, batch.random, batch.items.length);
    let json = JSON.stringify(build(id, batch.time));
    if (json.length + WRAPPER_BYTES > this.deps.maxBatchBytes) return null;
    if (batch.bytes + json.length + 1 > this.deps.maxBatchBytes) {
      this.#flush(batch);
      batch = this.#openBatch();
      id = batchDeliveryId(batch.time, batch.random, 0);
      json = JSON.stringify(build(id, batch.time));
    }
    batch.items.push(json);
    batch.bytes += json.length + 1;
    const stored = new Promise<void>((resolve, reject) => batch.waiters.push({ resolve, reject }));
    if (batch.items.length >= MAX_BATCH_ITEMS) this.#flush(batch);
    await stored;
    return id;
  }

  #openBatch(): OpenBatch {
    if (this.#open) return this.#open;
    const random = this.deps.randomBytes(8);
    const time = this.deps.clock();
    const batch: OpenBatch = { key: "", time, random, items: [], bytes: WRAPPER_BYTES, waiters: [] };
    batch.key = batchKeyOf(batchDeliveryId(time, random, 0))!;
    this.#open = batch;
    endOfTurn(() => this.#flush(batch));
    return batch;
  }

  #flush(batch: OpenBatch): void {
    if (this.#open === batch) this.#open = null;
    if (batch.items.length === 0) return;
    const { items, waiters } = batch;
    batch.items = [];
    batch.waiters = [];
    this.deps.publisher.publish(subjects.ingestBatch(batch.key), `{"deliveries":[${items.join(",")}]}`, { headers: { "Hookd-Batch-Size": String(items.length) } }).then(
      () => {
        for (const waiter of waiters) waiter.resolve();
      },
      (error: unknown) => {
        const failure = publishFailure(error);
        for (const waiter of waiters) waiter.reject(failure);
      },
    );
  }
}
