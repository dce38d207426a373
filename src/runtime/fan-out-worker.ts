import type { JsMsg } from "@nats-io/jetstream";
import type { DeliveryCreated } from "../domain/delivery-events.ts";
import type { Logger } from "../log.ts";
import { NatsUnavailableError } from "../nats/journal.ts";
import type { FanOut, FanOutEvent } from "./fan-out.ts";
import type { FirstAttempts } from "./first-attempts.ts";
import type { FanOutTarget } from "./subscription-directory.ts";

/**
 * Works a topic event's fan-out (decision record 27): each matching subscription's delivery is made by
 * its first attempt, from the event, as an ingest batch's are (record 26): its first journal message
 * holds its created event with the attempt's start, and the outcome follows; no created copy, no work
 * message, no read. The event is acknowledged once every delivery is journaled, and queued where it
 * needs to be. Handed out again, each delivery's journal decides: one already made is not sent again.
 */

export type FanOutWorkerDeps = {
  fanOut: FanOut;
  firstAttempts: FirstAttempts;
  log: Logger;
};

export class FanOutWorker {
  constructor(private readonly deps: FanOutWorkerDeps) {}

  async handle(message: JsMsg): Promise<void> {
    const { fanOut, firstAttempts } = this.deps;
    const event = fanOut.eventOf(message);
    if (!event) {
      message.term();
      return;
    }
    const { targets, worked } = await firstAttempts.keepWorking(message, async () => {
      const targets = await fanOut.targetsOf(event);
      return { targets, worked: await firstAttempts.workAll(targets, (target) => this.first(message, event, target)) };
    });
    if (worked.failure) throw worked.failure;
    if (worked.done < targets.length) {
      // Stopping: another instance takes the event now. Whatever its delivery count says then, nothing is
      // sent twice: each delivery this one started is in its journal, and a second start is refused there.
      message.nak();
      return;
    }
    this.deps.log.debug({ seq: message.seq, topic: event.topic, deliveries: worked.done }, "fanned out");
    message.ack();
  }

  /**
   * One subscription's delivery. Its start is journaled before it is sent, so it can be read (and /verify
   * can vouch for it) while its receiver answers: its id does not name the event it came from. Taken again,
   * counted so, its journal is read first; counted as a first hand-out (after a nak from a stopping
   * instance), a second start is refused in its journal, which then decides.
   */
  private async first(message: JsMsg, event: FanOutEvent, target: FanOutTarget): Promise<void> {
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
    await this.deps.firstAttempts.first(message, created, {
      careful: () => true,
      readFirst: message.info.deliveryCount > 1,
    });
  }
}
