import type { JsMsg } from "@nats-io/jetstream";
import { type DeliveryCreated, DeliveryCreatedSchema } from "../domain/delivery-events.ts";
import type { Logger } from "../log.ts";
import { batchItems, type DeliveryStore } from "../nats/delivery-store.ts";
import { NatsUnavailableError } from "../nats/journal.ts";

/**
 * Expands an ingest batch into the journal: each delivery's created event goes to its own subject
 * (exclusively, so a batch expanded twice after a crash writes nothing twice), from where the work
 * queue picks it up as for any delivery. The batch is acknowledged, and so removed, only after
 * every one of its deliveries is in the journal. Every delivery in it was answered 202, so a batch
 * is never dropped: an item this version cannot read (written by a newer instance during an
 * upgrade) keeps the batch coming back, slowly, for an instance that can.
 */

const UNREADABLE_RETRY_MS = 5 * 60_000;

export class IngestExpander {
  constructor(private readonly deps: { store: DeliveryStore; log: Logger }) {}

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
    const results = await Promise.allSettled(readable.map((created) => this.deps.store.expandCreated(created)));
    const failed = results.find((result): result is PromiseRejectedResult => result.status === "rejected");
    if (failed) {
      throw failed.reason instanceof NatsUnavailableError ? failed.reason : new NatsUnavailableError(failed.reason);
    }
    if (unreadable > 0) {
      // The readable ones are in the journal (expanding them again is a no-op); the rest wait for an instance
      // that understands them.
      this.deps.log.error(
        { subject: message.subject, unreadable, expanded: readable.length },
        "ingest batch items this instance cannot read; the batch stays queued",
      );
      message.nak(UNREADABLE_RETRY_MS);
      return;
    }
    message.ack();
  }
}
