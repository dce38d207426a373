import type { JsMsg } from "@nats-io/jetstream";
import { type DeliveryCreated, DeliveryCreatedSchema } from "../domain/delivery-events.ts";
import { batchKeyOf } from "../domain/batch-ids.ts";
import type { Logger } from "../log.ts";
import type { BatchTouches } from "../nats/batch-touches.ts";
import { batchItems, type DeliveryStore } from "../nats/delivery-store.ts";
import { NatsUnavailableError } from "../nats/journal.ts";
import type { JetStreamLayout } from "../nats/layout.ts";
import type { DeliveryWorker, WorkItem } from "./delivery-worker.ts";

/**
 * Expands an ingest batch into the journal by working it (decision record 26): each delivery's first
 * attempt is made from the batch, and its first journal message holds its created event with the
 * attempt's start and outcome, so a delivery answered at once costs one append and no work message.
 * A delivery that cannot be attempted now (its origin busy, its rate spent, its secrets sealed under a
 * key this instance lacks) or that needs another attempt is journaled and put on the work queue. The
 * batch is acknowledged, and so removed, only when every delivery in it is journaled, and queued where
 * it needs to be. Handed out again (its worker died or stalled), or once a command touched one of its
 * deliveries, each delivery still to go is read from its journal and has its start journaled before
 * it is sent. Every delivery in it was answered 202, so a batch is never dropped: an item this version
 * cannot read (written by a newer instance during an upgrade) keeps the batch coming back, slowly, for
 * an instance that can.
 */

const UNREADABLE_RETRY_MS = 5 * 60_000;

export type ExpanderDeps = {
  store: DeliveryStore;
  worker: DeliveryWorker;
  layout: JetStreamLayout;
  log: Logger;
  /** Touches heard as they happen, so a batch on its way stops before the delivery a command touched. */
  touches: BatchTouches;
  /** A batch's deliveries attempted at once; the rest wait in the batch for a free place. */
  attemptsPerBatch: number;
  /** The ingest consumer's ack wait: a batch being worked tells NATS so well within it. */
  leaseMs: number;
};

/** A delivery of the batch, standing in for its work message: a hand-back goes to the work queue. */
class BatchItem implements WorkItem {
  readonly data = new Uint8Array();
  readonly subject: string;
  /** The hand-off a nak asked for, awaited before the batch is acknowledged. */
  handOff: Promise<void> = Promise.resolve();

  constructor(
    private readonly batch: JsMsg,
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
    this.batch.working();
  }
  /** The work queue takes the delivery over; the worker that pulls it waits out what is left of any delay. */
  nak(): void {
    this.handOff = this.store.handOffBatched(this.created);
  }
}

/** Whether a batch's deliveries must be read from their journals before they are sent. */
type Care = { readJournals: boolean; reconnects: number };

export class IngestExpander {
  #stopping = false;

  constructor(private readonly deps: ExpanderDeps) {}

  /** Batches being worked take no more deliveries; what they have not started goes back to NATS at once. */
  stop(): void {
    this.#stopping = true;
  }

  async handle(message: JsMsg): Promise<void> {
    let items: unknown[];
    try {
      items = batchItems(message.data);
    } catch (error) {
      this.deps.log.error(
        { err: error, subject: message.subject },
        "an ingest batch this instance cannot read; it stays queued for one that can",
      );
      message.nak(UNREADABLE_RETRY_MS);
      return;
    }
    const readable: DeliveryCreated[] = [];
    let unreadable = 0;
    for (const item of items) {
      const created = DeliveryCreatedSchema.safeParse(item);
      if (created.success) readable.push(created.data);
      else unreadable++;
    }
    const key = readable[0] ? batchKeyOf(readable[0].data.id) : null;
    const care: Care = { readJournals: message.info.deliveryCount > 1, reconnects: this.deps.touches.reconnects };
    if (key && !care.readJournals) care.readJournals = await this.deps.store.isBatchTouched(key);
    // A batch of many deliveries to slow receivers can take longer than the ack wait; NATS must not hand it
    // to another instance meanwhile, which would send its deliveries again.
    const heartbeat = setInterval(() => message.working(), Math.max(this.deps.leaseMs / 3, 1_000));
    let outcome: { failure: unknown; done: number };
    try {
      outcome = await this.forEachLimited(readable, (created) => this.first(message, created, key, care));
    } finally {
      clearInterval(heartbeat);
    }
    if (outcome.failure) throw outcome.failure;
    if (outcome.done < readable.length) {
      // Stopping: another instance takes the batch now, and reads the journals of what this one did.
      message.nak();
      return;
    }
    if (unreadable > 0) {
      // The readable ones are in the journal (taking them again reads their journals first); the rest wait
      // for an instance that understands them.
      this.deps.log.error(
        { subject: message.subject, unreadable, expanded: readable.length },
        "ingest batch items this instance cannot read; the batch stays queued",
      );
      message.nak(UNREADABLE_RETRY_MS);
      return;
    }
    message.ack();
  }

  private async first(batch: JsMsg, created: DeliveryCreated, key: string | null, care: Care): Promise<void> {
    await this.readMarkAfterReconnect(key, care);
    const careful = () => care.readJournals || (key !== null && this.deps.touches.touched(key));
    const item = new BatchItem(batch, created, this.deps.store, this.deps.layout, careful);
    try {
      await this.deps.worker.handleBatched(item, created);
    } catch (error) {
      if (error instanceof NatsUnavailableError) throw error;
      // Not NATS: taking the batch again would fail the same way. The work queue takes this one over.
      this.deps.log.error(
        { err: error, id: created.data.id },
        "a batched delivery failed; the work queue takes it over",
      );
      item.nak();
    }
    await item.handOff;
  }

  /**
   * A touch said while the connection was away was not heard (touches heard are asked for at each
   * send): after a reconnect the batch reads its mark from the stream again, once.
   */
  private async readMarkAfterReconnect(key: string | null, care: Care): Promise<void> {
    if (care.readJournals || !key || this.deps.touches.reconnects === care.reconnects) return;
    care.reconnects = this.deps.touches.reconnects;
    care.readJournals = await this.deps.store.isBatchTouched(key);
  }

  /**
   * Runs `work` over `items`, at most attemptsPerBatch at once. After a failure (NATS away), or once
   * stopping, no more are started: each would be sent and not journaled, and sent again with the batch.
   */
  private async forEachLimited<T>(
    items: T[],
    work: (item: T) => Promise<void>,
  ): Promise<{ failure: unknown; done: number }> {
    let next = 0;
    let done = 0;
    let failure: unknown = undefined;
    const lane = async () => {
      while (next < items.length && failure === undefined && !this.#stopping) {
        const item = items[next++]!;
        await work(item).then(() => done++, (error: unknown) => (failure ??= error));
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.deps.attemptsPerBatch, items.length) }, lane));
    return { failure, done };
  }
}
