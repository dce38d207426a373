import {
  type AnyStateMachine,
  type ContextFrom,
  type EventFromLogic,
  initialTransition,
  type InputFrom,
  type SnapshotFrom,
  transition,
} from "xstate";

/**
 * actors/ holds hookd's pure machines (a delivery's, a subscription's), the folds that workers step
 * them with, and the worker's pure decisions beside them. Nothing in it does I/O or reads a clock:
 * timestamps, outcomes and randomness arrive as event data, so folding a journal again gives the same state.
 *
 * Steps a machine purely (XState's initialTransition/transition): no actor, no clock, nothing runs.
 * Workers and the journal readers (inspection, the API) share these functions, so they can't disagree.
 */

export type Persisted<TState extends string, TContext> = { state: TState; context: TContext };

export function foldFor<TMachine extends AnyStateMachine, TState extends string>(machine: TMachine) {
  type Snapshot = SnapshotFrom<TMachine>;
  type Event = EventFromLogic<TMachine>;
  type Context = ContextFrom<TMachine>;
  // Every machine snapshot has a value and a context; SnapshotFrom of a generic machine doesn't say so.
  const view = (snapshot: Snapshot) => snapshot as unknown as { value: TState; context: Context };

  const apply = (snapshot: Snapshot, event: Event): Snapshot | null => {
    // XState hands back the very same snapshot when no transition is enabled: cheaper than snapshot.can() first.
    const next = transition(machine, snapshot, event)[0] as Snapshot;
    return next === snapshot ? null : next;
  };

  return {
    initial: (input: InputFrom<TMachine>): Snapshot => initialTransition(machine, input)[0] as Snapshot,
    apply,
    stateOf: (snapshot: Snapshot): TState => view(snapshot).value,
    persist: (snapshot: Snapshot): Persisted<TState, Context> => ({
      state: view(snapshot).value,
      context: view(snapshot).context,
    }),
    restore: (persisted: Persisted<TState, Context>): Snapshot =>
      machine.resolveState({ value: persisted.state, context: persisted.context }) as Snapshot,
    /** Folds a journal from the start; events the machine refuses are reported, not silently applied. */
    run(start: Snapshot, events: readonly Event[]): { snapshot: Snapshot; rejected: Event[] } {
      let snapshot = start;
      const rejected: Event[] = [];
      for (const event of events) {
        const next = apply(snapshot, event);
        if (next) snapshot = next;
        else rejected.push(event);
      }
      return { snapshot, rejected };
    },
  };
}
