import type { JsMsg } from "@nats-io/jetstream";
import type { Logger } from "../log.ts";
import type { FanOut } from "./fan-out.ts";
import type { FirstAttempts } from "./first-attempts.ts";
import type { Places } from "./places.ts";

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
  /** One event's deliveries attempted at once (up to all of `places`: one event may have thousands). */
  lanes: number;
  /** Attempts at once for all the events this instance fans out. */
  places: Places;
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
    const targets = await fanOut.targetsOf(event);
    // Each delivery's start is journaled before it is sent, so the delivery can be read (and /verify can
    // vouch for it) while its receiver handles it: no id names the event it came from. An event handed out
    // again reads each delivery's journal first.
    const care = { careful: () => true, readFirst: message.info.deliveryCount > 1 };
    const worked = await firstAttempts.workAll(
      message,
      targets,
      { lanes: this.deps.lanes, places: this.deps.places },
      async (target) => firstAttempts.first(message, await fanOut.deliveryOf(event, target), care),
    );
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
}
