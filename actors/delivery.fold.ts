import { initialTransition, transition, type SnapshotFrom } from "xstate";
import type { DeliveryTransition } from "../src/domain/delivery-events.ts";
import { deliveryMachine, initialDeliveryContext, type DeliveryContext, type DeliveryInput, type DeliveryState } from "./delivery.machine.ts";

/**
 * Steps the delivery machine purely (XState's initialTransition/transition): no actor, no clock,
 * nothing runs. This is what both the workers and journal replay use, so they can't disagree.
 */

export type DeliverySnapshot = SnapshotFrom<typeof deliveryMachine>;
/** What the journal stores beside each event: the state it led to, so a worker can resume without a replay. */
export type PersistedDelivery = { state: DeliveryState; context: DeliveryContext };

/**
 * The machine's starting snapshot. Resolving it from the initial context is twenty times cheaper
 * than initialTransition() and the same for this machine (its initial state has no entry actions);
 * a test holds the two equal.
 */
export function initialDelivery(input: DeliveryInput): DeliverySnapshot {
  return deliveryMachine.resolveState({ value: "pending", context: initialDeliveryContext(input) });
}

export function initialDeliveryByTransition(input: DeliveryInput): DeliverySnapshot {
  return initialTransition(deliveryMachine, input)[0];
}

export function stateOf(snapshot: DeliverySnapshot): DeliveryState {
  return snapshot.value as DeliveryState;
}

/**
 * The next snapshot, or null when the machine refuses the event in its current state. XState hands
 * back the very same snapshot when no transition is enabled; checking that identity instead of
 * calling snapshot.can() first halves the work on the delivery hot path (the machine tests cover
 * both refusals and accepted target-less transitions).
 */
export function applyDeliveryEvent(snapshot: DeliverySnapshot, event: DeliveryTransition): DeliverySnapshot | null {
  const next = transition(deliveryMachine, snapshot, event)[0];
  return next === snapshot ? null : next;
}

export function persistDelivery(snapshot: DeliverySnapshot): PersistedDelivery {
  return { state: stateOf(snapshot), context: snapshot.context };
}

export function restoreDelivery(persisted: PersistedDelivery): DeliverySnapshot {
  return deliveryMachine.resolveState({ value: persisted.state, context: persisted.context });
}

export type ReplayResult = { snapshot: DeliverySnapshot; rejected: DeliveryTransition[] };

/** Folds a journal from the start. Events the machine refuses are reported, not silently applied. */
export function replayDelivery(input: DeliveryInput, events: readonly DeliveryTransition[]): ReplayResult {
  let snapshot = initialDelivery(input);
  const rejected: DeliveryTransition[] = [];
  for (const event of events) {
    const next = applyDeliveryEvent(snapshot, event);
    if (next) snapshot = next;
    else rejected.push(event);
  }
  return { snapshot, rejected };
}
