import type { DeliveryCreated, DeliveryTransition } from "../src/domain/delivery-events.ts";
import { maxAttemptsFor } from "../src/domain/retry-policy.ts";
import {
  DELIVERY_STATES,
  type DeliveryContext,
  type DeliveryInput,
  deliveryMachine,
  type DeliveryState,
  initialDeliveryContext,
} from "./delivery.machine.ts";
import { foldEvents, foldFor, type Persisted } from "./fold.ts";
import { type FlatState, flatStepperFor } from "./flat-stepper.ts";

/**
 * The delivery machine stepped purely, on plain states (a name and a context): deliveries are the
 * hot path. The machine's definition decides every step; flat-stepper.ts follows it without
 * XState's snapshots, and XState itself steps it should the definition outgrow that (see there).
 */

const fold = foldFor<typeof deliveryMachine, DeliveryState>(deliveryMachine);

export type DeliverySnapshot = FlatState<DeliveryState, DeliveryContext>;
/** What the journal stores beside each event: the state it led to, so a worker can resume without folding the whole journal. */
export type PersistedDelivery = Persisted<DeliveryState, DeliveryContext>;

const flatStep = flatStepperFor<DeliveryState, DeliveryContext, DeliveryTransition>(deliveryMachine);

/** XState's own step, for a definition the flat stepper does not take. */
function stepWithXState(snapshot: DeliverySnapshot, event: DeliveryTransition): DeliverySnapshot | null {
  const next = fold.apply(fold.restore({ state: snapshot.value, context: snapshot.context }), event);
  return next && { value: fold.stateOf(next), context: next.context };
}

/** Whether the delivery machine is stepped without XState's interpreter (a test holds that it is). */
export const deliverySteppedFlat = flatStep !== null;

/** The machine's starting snapshot: its initial state has no entry actions and no eventless transitions (a test holds it equal to XState's). */
export function initialDelivery(input: DeliveryInput): DeliverySnapshot {
  return { value: "pending", context: initialDeliveryContext(input) };
}

/** The machine's input for a created delivery: its id, and as many attempts as its schedule allows. */
export function deliveryInputOf(created: DeliveryCreated): DeliveryInput {
  return { id: created.data.id, maxAttempts: maxAttemptsFor(created.data.schedule) };
}

/** XState's own initial snapshot, for the test that holds initialDelivery equal to it. */
export const initialDeliveryByTransition = (input: DeliveryInput) => fold.initial(input);
export const stateOf = (snapshot: DeliverySnapshot): DeliveryState => snapshot.value;
/** The next snapshot, or null when the machine refuses the event in its current state. */
export const applyDeliveryEvent: (snapshot: DeliverySnapshot, event: DeliveryTransition) => DeliverySnapshot | null =
  flatStep ?? stepWithXState;
export const persistDelivery = (snapshot: DeliverySnapshot): PersistedDelivery => ({
  state: snapshot.value,
  context: snapshot.context,
});
const KNOWN_STATES: ReadonlySet<string> = new Set(DELIVERY_STATES);

/** A journaled state back as a snapshot; a state the machine does not have is refused, as XState's resolveState refused it. */
export function restoreDelivery(persisted: PersistedDelivery): DeliverySnapshot {
  if (!KNOWN_STATES.has(persisted.state)) {
    throw new Error(
      `delivery ${persisted.context?.id} is journaled in state "${persisted.state}", which the machine does not have`,
    );
  }
  return { value: persisted.state, context: persisted.context };
}

export type FoldResult = { snapshot: DeliverySnapshot; rejected: DeliveryTransition[] };

export function foldDelivery(input: DeliveryInput, events: readonly DeliveryTransition[]): FoldResult {
  return foldEvents(initialDelivery(input), events, applyDeliveryEvent);
}
