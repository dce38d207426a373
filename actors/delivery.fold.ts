import { type SnapshotFrom } from "xstate";
import type { DeliveryCreated, DeliveryTransition } from "../src/domain/delivery-events.ts";
import { maxAttemptsFor } from "../src/domain/retry-policy.ts";
import {
  type DeliveryContext,
  type DeliveryInput,
  deliveryMachine,
  type DeliveryState,
  initialDeliveryContext,
} from "./delivery.machine.ts";
import { foldFor, type Persisted } from "./fold.ts";

/** The delivery machine stepped purely; see fold.ts. Deliveries are the hot path, so the start snapshot is built cheaply. */

const fold = foldFor<typeof deliveryMachine, DeliveryState>(deliveryMachine);

export type DeliverySnapshot = SnapshotFrom<typeof deliveryMachine>;
/** What the journal stores beside each event: the state it led to, so a worker can resume without folding the whole journal. */
export type PersistedDelivery = Persisted<DeliveryState, DeliveryContext>;

/**
 * The machine's starting snapshot. Resolving it from the initial context is twenty times cheaper
 * than initialTransition() and the same for this machine (its initial state has no entry actions
 * and no eventless transitions); a test holds the two equal.
 */
export function initialDelivery(input: DeliveryInput): DeliverySnapshot {
  return deliveryMachine.resolveState({ value: "pending", context: initialDeliveryContext(input) });
}

/** The machine's input for a created delivery: its id, and as many attempts as its schedule allows. */
export function deliveryInputOf(created: DeliveryCreated): DeliveryInput {
  return { id: created.data.id, maxAttempts: maxAttemptsFor(created.data.schedule) };
}

export const initialDeliveryByTransition = (input: DeliveryInput): DeliverySnapshot => fold.initial(input);
export const stateOf = fold.stateOf;
/** The next snapshot, or null when the machine refuses the event in its current state. */
export const applyDeliveryEvent = (snapshot: DeliverySnapshot, event: DeliveryTransition): DeliverySnapshot | null =>
  fold.apply(snapshot, event);
export const persistDelivery = fold.persist;
export const restoreDelivery = fold.restore;

export type FoldResult = { snapshot: DeliverySnapshot; rejected: DeliveryTransition[] };

export function foldDelivery(input: DeliveryInput, events: readonly DeliveryTransition[]): FoldResult {
  return fold.run(initialDelivery(input), events);
}
