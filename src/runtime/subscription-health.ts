import type { Logger } from "../log.ts";
import { TransitionRefusedError } from "./errors.ts";
import type { SubscriptionCommands } from "./subscription-commands.ts";
import type { SubscriptionDirectory } from "./subscription-directory.ts";

/**
 * Feeds fan-out outcomes back to their subscription: a delivery that ends failed counts toward
 * disabling it (a 410 disables it at once), and one that ends delivered after failures resets the
 * count. Successes on a healthy subscription write nothing.
 */
export class SubscriptionHealth {
  constructor(
    private readonly deps: {
      subscriptions: SubscriptionCommands;
      directory: SubscriptionDirectory;
      clock: () => number;
      log: Logger;
    },
  ) {}

  async deliveryFinished(
    outcome: { subscriptionId: string; deliveryId: string; state: "delivered" | "failed"; gone: boolean },
  ): Promise<void> {
    const at = new Date(this.deps.clock()).toISOString();
    try {
      if (outcome.state === "failed") {
        await this.deps.subscriptions.transition(outcome.subscriptionId, "told of a failure", {
          type: "delivery.failed",
          at,
          data: { deliveryId: outcome.deliveryId, gone: outcome.gone },
        });
      } else if (
        (this.deps.directory.index.get(outcome.subscriptionId)?.subscription.context.consecutiveFailures ?? 0) > 0
      ) {
        await this.deps.subscriptions.transition(outcome.subscriptionId, "told of a recovery", {
          type: "delivery.recovered",
          at,
          data: { deliveryId: outcome.deliveryId },
        });
      }
    } catch (error) {
      // A paused, disabled or deleted subscription doesn't count outcomes of deliveries still in flight.
      if (error instanceof TransitionRefusedError) return;
      this.deps.log.warn({ err: error, ...outcome }, "could not record a delivery outcome on its subscription");
    }
  }
}
