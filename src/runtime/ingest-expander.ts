import type { JsMsg } from "@nats-io/jetstream";
import type { Logger } from "../log.ts";
import { parseBatch, type DeliveryStore } from "../nats/delivery-store.ts";
import { NatsUnavailableError } from "../nats/journal.ts";

/**
 * Spreads an ingest batch into the journal: each delivery's created event goes to its own subject
 * (exclusively, so a batch spread twice after a crash writes nothing twice), from where the work
 * queue picks it up as for any delivery. The batch is acknowledged, and so removed, only after
 * every one of its deliveries is in the journal.
 */
export class IngestExpander {
  constructor(private readonly deps: { store: DeliveryStore; log: Logger }) {}

  async handle(message: JsMsg): Promise<void> {
    let deliveries;
    try {
      deliveries = parseBatch(message.data);
    } catch (error) {
      // Written by hookd itself, so unreadable means damaged: redelivering it would never help.
      this.deps.log.error({ err: error, subject: message.subject }, "unreadable ingest batch; dropping it");
      message.term();
      return;
    }
    const results = await Promise.allSettled(deliveries.map((created) => this.deps.store.spreadCreated(created)));
    const failed = results.find((result): result is PromiseRejectedResult => result.status === "rejected");
    if (failed) throw failed.reason instanceof NatsUnavailableError ? failed.reason : new NatsUnavailableError(failed.reason);
    message.ack();
  }
}
