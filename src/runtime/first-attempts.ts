import type { JsMsg } from "@nats-io/jetstream";
import type { DeliveryCreated } from "../domain/delivery-events.ts";
import type { Logger } from "../log.ts";
import type { DeliveryStore } from "../nats/delivery-store.ts";
import { NatsUnavailableError, UnreadableEntryError } from "../nats/journal.ts";
import type { JetStreamLayout } from "../nats/layout.ts";
import type { DeliveryWorker, WorkItem } from "./delivery-worker.ts";
import type { Places } from "./places.ts";

/**
 * First attempts made from the message that carries their deliveries (decision records 26 and 27): an
 * ingest batch, or a topic event whose fan-out makes them. Each delivery's first journal message holds
 * its created event with the attempt's start (and, for a batch's delivery answered at once, its
 * outcome too), so a delivery costs no created copy and no work message, and a fresh carrier's
 * deliveries no read. One that cannot be attempted now (its origin busy, its rate spent, its
 * secrets sealed under a key this instance lacks) or that needs another attempt is journaled and put
 * on the work queue, for any instance. The carrier is acknowledged by its owner only once every
 * delivery in it is journaled, and queued where it needs to be.
 */

/** A delivery of the carrier, standing in for its work message: a hand-back goes to the work queue. */
class CarriedItem implements WorkItem {
  readonly data = new Uint8Array();
  readonly subject: string;
  /** The hand-off a nak asked for, awaited before the carrier is acknowledged. */
  handOff: Promise<void> = Promise.resolve();

  constructor(
    private readonly carrier: JsMsg,
    private readonly created: DeliveryCreated,
    private readonly store: DeliveryStore,
    layout: JetStreamLayout,
    /** Whether the delivery's journal must decide first, asked each time the worker looks (a touch may come meanwhile). */
    private readonly careful: () => boolean,
  ) {
    this.subject = layout.subjects.deliveryCreated(created.data.id);
  }

  /** 1: the create's own work on its first hand-out, sent at once; 2: its start is journaled first. */
  get info(): { deliveryCount: number } {
    return { deliveryCount: this.careful() ? 2 : 1 };
  }

  ack(): void {}
  term(): void {}
  working(): void {
    this.carrier.working();
  }
  /** The work queue takes the delivery over; the worker that pulls it waits out what is left of any delay. */
  nak(): void {
    this.handOff = this.store.handOffBatched(this.created);
  }
}

export type FirstAttemptsDeps = {
  store: DeliveryStore;
  worker: DeliveryWorker;
  layout: JetStreamLayout;
  log: Logger;
  /** The carrier's ack wait: a carrier being worked tells NATS so well within it. */
  leaseMs: number;
  /**
   * Attempts at once for every carrier this instance works. One carrier may use all of them (one event may
   * have thousands of subscribers; a burst of dispatches is one batch); many at once share them.
   */
  places: Places;
};

/** How working a carrier ended: the first failure (NATS away), and how many of its deliveries were done. */
export type Worked = { failure: unknown; done: number };

export class FirstAttempts {
  #stopping = false;

  constructor(private readonly deps: FirstAttemptsDeps) {}

  /** Carriers being worked start no more deliveries; their owners hand what is left back to NATS. */
  stop(): void {
    this.#stopping = true;
  }

  get stopping(): boolean {
    return this.#stopping;
  }

  /**
   * Runs `during` while telling NATS the carrier is being worked: a carrier of many deliveries to slow
   * receivers can take longer than its ack wait, and NATS must not hand it to another instance meanwhile,
   * which would work it again.
   */
  async keepWorking<T>(carrier: JsMsg, during: () => Promise<T>): Promise<T> {
    const heartbeat = setInterval(() => carrier.working(), Math.max(this.deps.leaseMs / 3, 1_000));
    try {
      return await during();
    } finally {
      clearInterval(heartbeat);
    }
  }

  /**
   * Runs `work` over `items`, each first taking one of the places. After a failure (NATS away), or once
   * stopping, no more are started: each would be sent and not journaled, and sent again with the carrier.
   * The caller keeps the carrier alive (keepWorking) meanwhile.
   */
  async workAll<T>(items: readonly T[], work: (item: T) => Promise<void>): Promise<Worked> {
    const { places } = this.deps;
    let next = 0;
    let done = 0;
    let failure: unknown = undefined;
    const going = () => next < items.length && failure === undefined && !this.#stopping;
    const lane = async () => {
      while (going()) {
        const release = await places.take();
        try {
          if (!going()) return;
          const item = items[next++]!;
          await work(item).then(() => done++, (error: unknown) => (failure ??= error));
        } finally {
          release();
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(places.count, items.length) }, lane));
    return { failure, done };
  }

  /**
   * One delivery's first attempt. `careful`: whether its start must be journaled before it is sent (see
   * CarriedItem); `readFirst`: whether its journal is read before anything (DeliveryWorker.handleBatched).
   */
  async first(
    carrier: JsMsg,
    created: DeliveryCreated,
    care: { careful: () => boolean; readFirst: boolean },
  ): Promise<void> {
    const item = new CarriedItem(carrier, created, this.deps.store, this.deps.layout, care.careful);
    try {
      await this.deps.worker.handleBatched(item, created, care.readFirst);
    } catch (error) {
      if (error instanceof NatsUnavailableError) throw error;
      // Not NATS: taking the carrier again would fail the same way, so the work queue takes this one over.
      // A journal message this hookd cannot read (record 40) is a warning there too; anything else is a fault.
      const id = created.data.id;
      if (error instanceof UnreadableEntryError) {
        this.deps.log.warn({ err: error, id }, "a delivery's journal cannot be read; the work queue takes it over");
      } else this.deps.log.error({ err: error, id }, "a delivery's first attempt failed; the work queue takes it over");
      item.nak();
    }
    await item.handOff;
  }
}
