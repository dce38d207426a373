import type { JsMsg } from "@nats-io/jetstream";
import type { DeliveryCreated } from "../domain/delivery-events.ts";
import type { Logger } from "../log.ts";
import type { DeliveryStore } from "../nats/delivery-store.ts";
import { NatsUnavailableError } from "../nats/journal.ts";
import type { Pulls } from "../nats/work-queue.ts";
import type { FanOut, FanOutEvent } from "./fan-out.ts";
import type { FirstAttempts } from "./first-attempts.ts";
import type { FanOutTarget } from "./subscription-directory.ts";

/**
 * Works a topic event's fan-out (decision records 27 and 31): each matching subscription's delivery is
 * made by its first attempt, from the event, as an ingest batch's are (record 26): its first journal
 * message holds its created event with the attempt's start and, for a quick answer, its outcome; no
 * created copy, no work message, no read. The event is acknowledged once every delivery is journaled,
 * and queued where it needs to be. Handed out again, each delivery's journal decides: one already made
 * is not sent again.
 */

export type FanOutWorkerDeps = {
  fanOut: FanOut;
  firstAttempts: FirstAttempts;
  store: Pick<DeliveryStore, "markFanOutLeft" | "isFanOutLeft">;
  log: Logger;
};

export class FanOutWorker {
  constructor(private readonly deps: FanOutWorkerDeps) {}

  async handle(message: JsMsg, pulls: Pulls): Promise<void> {
    const { fanOut, firstAttempts } = this.deps;
    const event = fanOut.eventOf(message);
    if (!event) {
      message.term();
      return;
    }
    const { targets, worked } = await firstAttempts.keepWorking(message, async () => {
      const targets = await fanOut.targetsOf(event);
      const careful = await this.mustJournalStarts(message, targets.length);
      return {
        targets,
        worked: await firstAttempts.workAll(targets, (target) => this.first(message, event, target, careful)),
      };
    });
    const unfinished = worked.done < targets.length;
    if (worked.failure !== undefined && !firstAttempts.stopping) throw worked.failure;
    if (unfinished || worked.failure !== undefined) {
      await this.handBack(message, pulls);
      return;
    }
    this.deps.log.debug({ seq: message.seq, topic: event.topic, deliveries: worked.done }, "fanned out");
    message.ack();
  }

  /**
   * Whether each delivery's start is journaled before it is sent. Not on the event's first hand-out: each
   * is sent at once and journaled with its outcome (decision record 31). Handed out again, the journal
   * must decide first: NATS says so by the delivery count after a crash, and a stopping instance by a mark
   * (see handBack). The mark's read is worth it for one delivery too: journaling the start first would
   * cost a read of the delivery's journal and a second append.
   */
  private async mustJournalStarts(message: JsMsg, targets: number): Promise<boolean> {
    if (message.info.deliveryCount > 1) return true;
    if (targets === 0) return false;
    return await this.deps.store.isFanOutLeft(message.seq);
  }

  /**
   * Another instance takes the event (this one stops), once this one's open pull expired. Its delivery count may not say so (NATS has
   * handed such an event on counted as a first time), so the event is marked first; unmarked, it is left to
   * its ack wait, after which NATS hands it out counted as a second time. Each delivery this instance made
   * is journaled by now: its start is refused there a second time. The nak waits out this instance's open
   * pull (Pulls): handed back at once, it went to that pull, which nobody reads, and waited out its ack wait.
   */
  private async handBack(message: JsMsg, pulls: Pulls): Promise<void> {
    try {
      await this.deps.store.markFanOutLeft(message.seq);
    } catch (error) {
      this.deps.log.warn(
        { err: error, seq: message.seq },
        "could not mark a topic event this instance leaves unfinished; another takes it after the ack wait",
      );
      return;
    }
    message.nak(pulls.handBackDelayMs());
  }

  /** One subscription's delivery, journaled as its first attempt goes (see mustJournalStarts). */
  private async first(message: JsMsg, event: FanOutEvent, target: FanOutTarget, careful: boolean): Promise<void> {
    let created: DeliveryCreated;
    try {
      created = await this.deps.fanOut.deliveryOf(event, target);
    } catch (error) {
      if (error instanceof NatsUnavailableError) throw error;
      // It would fail the same way each time the event came back: the event's other deliveries go on.
      this.deps.log.error(
        { err: error, seq: message.seq, subscriptionId: target.id },
        "could not make a fan-out delivery; the subscription misses this event",
      );
      return;
    }
    await this.deps.firstAttempts.first(message, created, { careful: () => careful, readFirst: careful });
  }
}
