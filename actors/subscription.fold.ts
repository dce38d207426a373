import { foldFor, type Persisted } from "./fold.ts";
import { type SubscriptionContext, subscriptionMachine, type SubscriptionState } from "./subscription.machine.ts";

export const subscriptionFold = foldFor<typeof subscriptionMachine, SubscriptionState>(subscriptionMachine);
export type PersistedSubscription = Persisted<SubscriptionState, SubscriptionContext>;
