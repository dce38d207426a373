import { foldFor, type Persisted } from "./fold.ts";
import { subscriptionMachine, type SubscriptionContext, type SubscriptionState } from "./subscription.machine.ts";

export const subscriptionFold = foldFor<typeof subscriptionMachine, SubscriptionState>(subscriptionMachine);
export type PersistedSubscription = Persisted<SubscriptionState, SubscriptionContext>;
