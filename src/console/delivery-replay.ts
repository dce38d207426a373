import { deliveryInputOf, foldDelivery, stateOf } from "../../actors/delivery.fold.ts";
import type { DeliveryState } from "../../actors/delivery.machine.ts";
import type { StoredCreated, StoredTransition } from "../nats/delivery-store.ts";

/**
 * A delivery as it was after its journal's first `upto` transitions (0: just created), rebuilt with
 * the machine's pure transition, the same fold the worker and the API use: what the timeline shows
 * when the user picks an entry.
 */
export type ReplayedPoint = { state: DeliveryState; taken: { from: string; to: string } | null; upto: number };

export function replayTo(
  created: StoredCreated,
  transitions: readonly StoredTransition[],
  upto: number,
): ReplayedPoint {
  const count = Math.max(0, Math.min(upto, transitions.length));
  const input = deliveryInputOf(created.event);
  const events = transitions.slice(0, count).map((transition) => transition.event);
  const state = stateOf(foldDelivery(input, events).snapshot);
  if (count === 0) return { state, taken: null, upto: count };
  const before = stateOf(foldDelivery(input, events.slice(0, -1)).snapshot);
  return { state, taken: before === state ? null : { from: before, to: state }, upto: count };
}
