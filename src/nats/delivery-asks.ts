import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import type { Logger } from "../log.ts";
import type { JetStreamLayout } from "./layout.ts";

/** What answers an ask: the runtime's quick windows (src/runtime/quick-windows.ts), which this layer does not import. */
export type WindowHolder = {
  /** Resolves once the delivery's start is journaled: true, or false at once when no window is open for it here. */
  ask(id: string): Promise<boolean>;
};

/**
 * Asks, over core NATS, for a delivery nothing can find yet: a fan-out delivery's first attempt, on
 * the wire before its start is journaled (decision record 31). Every instance that makes attempts
 * listens; the one holding the delivery's quick window journals its start and answers, the others
 * stay silent. Nothing is stored: an ask no one answers has lost nothing, the journal still decides.
 */

/**
 * An ask closes the window at once and is answered after one append, well within this; an ask that no
 * instance holds (an unknown id, or one journaled meanwhile) waits this long.
 */
const ASK_TIMEOUT_MS = 1_000;

/** Answers asks for the deliveries whose quick windows this instance holds. */
export class DeliveryAskAnswers {
  readonly #subscription: Subscription;

  constructor(nc: NatsConnection, layout: JetStreamLayout, windows: WindowHolder, log: Logger) {
    this.#subscription = nc.subscribe(layout.subjects.allDeliveryAsks, {
      callback: (error, message) => {
        if (error) {
          log.warn({ err: error }, "cannot hear asks for deliveries on the wire; /verify may miss a fan-out delivery");
          return;
        }
        const id = layout.subjects.askedDeliveryId(message.subject);
        if (id === null) return;
        void windows.ask(id).then((held) => {
          if (held) message.respond();
        }).catch(() => undefined);
      },
    });
  }

  stop(): void {
    this.#subscription.unsubscribe();
  }
}

/**
 * Asks whoever holds the delivery's quick window to journal its start; resolves once it has, once
 * ASK_TIMEOUT_MS is up, or at once when no instance listens.
 */
export function askForDelivery(nc: NatsConnection, layout: JetStreamLayout): (id: string) => Promise<void> {
  return async (id) => {
    try {
      await nc.request(layout.subjects.deliveryAsked(id), undefined, { timeout: ASK_TIMEOUT_MS });
    } catch {
      // Unanswered: no window is open for it (an unknown id, or one already journaled). The journal decides.
    }
  };
}
