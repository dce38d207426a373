import type { TokenChecker } from "../domain/token-check.ts";
import type { Logger } from "../log.ts";
import type { SubscriptionAttempts } from "../runtime/subscription-attempts.ts";
import type { DeliveryStore } from "../nats/delivery-store.ts";
import type { DeliveryCommands } from "../runtime/delivery-commands.ts";
import type { SubscriptionCommands } from "../runtime/subscription-commands.ts";
import type { SubscriptionDirectory } from "../runtime/subscription-directory.ts";
import type { ReplaySubscription } from "../runtime/replay.ts";
import type { OrderedLines } from "../runtime/ordered-lines.ts";
import type { EventViewDeps } from "../runtime/event-view.ts";
import type { ConsoleAssets } from "./assets.ts";
import type { ConsoleServices } from "./services.ts";

/** What the console reads and acts through: the same commands and stores as the API, nothing of its own. */
export type ConsoleDeps = {
  tokens: TokenChecker;
  deliveries: DeliveryCommands;
  deliveryStore: DeliveryStore;
  subscriptions: SubscriptionCommands;
  subscriptionDirectory: SubscriptionDirectory;
  subscriptionAttempts: Pick<SubscriptionAttempts, "recent">;
  replaySubscription: ReplaySubscription;
  /** Where an ordered subscription's line stands. */
  orderedLines: Pick<OrderedLines, "view">;
  events: EventViewDeps;
  services: ConsoleServices;
  assets: ConsoleAssets;
  /** The API app itself, so the topic tail reads the very stream users get (GET /sse/<topic>). */
  api: (request: Request) => Response | Promise<Response>;
  clock: () => number;
  /** Where a page's failure is logged: the person sees a sentence, the operator the error. */
  log: Pick<Logger, "warn" | "error">;
};
