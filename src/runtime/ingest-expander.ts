import type { JsMsg } from "@nats-io/jetstream";
import { type DeliveryCreated, DeliveryCreatedSchema } from "../domain/delivery-events.ts";
import { batchKeyOf } from "../domain/batch-ids.ts";
import type { Logger } from "../log.ts";
import type { BatchTouches } from "../nats/batch-touches.ts";
import { batchItems, type DeliveryStore } from "../nats/delivery-store.ts";
import type { Pulls } from "../nats/work-queue.ts";
import type { FirstAttempts } from "./first-attempts.ts";

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
  firstAttempts: FirstAttempts;
  log: Logger;
  /** Touches heard as they happen, so a batch on its way stops before the delivery a command touched. */
  touches: BatchTouches;
};

/** Whether a batch's deliveries must be read from their journals before they are sent. */
type Care = { readJournals: boolean; reconnects: number };

export class IngestExpander {
  constructor(private readonly deps: ExpanderDeps) {}

  async handle(message: JsMsg, pulls: Pulls): Promise<void> {
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
    const heardInFull = () =>
      this.deps.touches.hearsEveryTouchOf(message.info.streamSequence, Date.parse(readable[0]!.at));
    if (key && !care.readJournals && !heardInFull()) care.readJournals = await this.deps.store.isBatchTouched(key);
    const { firstAttempts } = this.deps;
    const outcome = await firstAttempts.keepWorking(
      message,
      () => firstAttempts.workAll(readable, (created) => this.first(message, created, key, care)),
    );
    // NATS away: the work queue naks it, and a live pull takes it again in a second, counted as a second time.
    if (outcome.failure && !firstAttempts.stopping) throw outcome.failure;
    if (outcome.failure || outcome.done < readable.length) {
      await this.handBack(message, pulls, readable[0]!.data.id);
      return;
    }
    if (unreadable > 0) {
      // The readable ones are in the journal (taking them again reads their journals first); the rest wait
      // for an instance that understands them.
      this.deps.log.error(
        { subject: message.subject, unreadable, expanded: readable.length },
        "ingest batch items this instance cannot read; the batch stays queued",
      );
      await this.handBack(message, pulls, readable[0]?.data.id, UNREADABLE_RETRY_MS);
      return;
    }
    message.ack();
  }

  /**
   * Another instance takes the batch (when stopping, once this one's pull expired), and must read the journals of what this one
   * did. Its delivery count may not say so (NATS has handed such a batch on counted as a first time), so
   * the batch is marked first, and the next taker reads the mark. Unmarked, it is left to its ack wait,
   * after which NATS hands it out counted as a second time. The nak waits out this instance's open pull at
   * least (Pulls): handed back at once, it went to that pull, which nobody reads, and waited out its ack wait.
   */
  private async handBack(message: JsMsg, pulls: Pulls, anyId: string | undefined, delayMs = 0): Promise<void> {
    try {
      if (anyId !== undefined) await this.deps.store.markBatchTouched(anyId);
    } catch (error) {
      this.deps.log.warn(
        { err: error, subject: message.subject },
        "could not mark a batch this instance leaves unfinished; another takes it after the ack wait",
      );
      return;
    }
    message.nak(Math.max(delayMs, pulls.handBackDelayMs()));
  }

  private async first(batch: JsMsg, created: DeliveryCreated, key: string | null, care: Care): Promise<void> {
    await this.readMarkAfterReconnect(key, care);
    const careful = () => care.readJournals || (key !== null && this.deps.touches.touched(key));
    await this.deps.firstAttempts.first(batch, created, { careful, readFirst: careful() });
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
}
