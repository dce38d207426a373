import {
  type AnyActorScope,
  type AnyStateMachine,
  type ContextFrom,
  createActor,
  type EventFromLogic,
  initialTransition,
  type InputFrom,
  type SnapshotFrom,
} from "xstate";

/**
 * actors/ holds hookd's pure machines (a delivery's, a subscription's), the folds that workers step
 * them with, and the worker's pure decisions beside them. Nothing in it does I/O or reads a clock:
 * timestamps, outcomes and randomness arrive as event data, so folding a journal again gives the same state.
 *
 * Steps a machine purely (the machine's own `transition`): no actor runs, no clock, nothing is executed.
 * Workers and the journal readers (inspection, the API) share these functions, so they can't disagree.
 */

/**
 * An actor scope that executes nothing, made once per machine. XState's `transition()` helper makes
 * a fresh one per call, which creates an actor and a system each time: about 50 µs, twice per
 * delivery. hookd's machines only `assign` (applied inside the transition, never handed to the
 * executor) and spawn no children, so one inert scope serves every step; a test holds the results
 * equal to `transition()`'s.
 */
function inertScopeFor(machine: AnyStateMachine): AnyActorScope {
  const self = createActor(machine);
  return {
    self,
    id: "",
    sessionId: "",
    logger: () => {},
    defer: () => {},
    emit: () => {},
    system: self.system,
    stopChild: () => {},
    actionExecutor: () => {},
  };
}

export type Persisted<TState extends string, TContext> = { state: TState; context: TContext };

/** Folds a journal from `start` with `apply`; events it refuses (null) are reported, not silently applied. */
export function foldEvents<TSnapshot, TEvent>(
  start: TSnapshot,
  events: readonly TEvent[],
  apply: (snapshot: TSnapshot, event: TEvent) => TSnapshot | null,
): { snapshot: TSnapshot; rejected: TEvent[] } {
  let snapshot = start;
  const rejected: TEvent[] = [];
  for (const event of events) {
    const next = apply(snapshot, event);
    if (next) snapshot = next;
    else rejected.push(event);
  }
  return { snapshot, rejected };
}

export function foldFor<TMachine extends AnyStateMachine, TState extends string>(machine: TMachine) {
  type Snapshot = SnapshotFrom<TMachine>;
  type Event = EventFromLogic<TMachine>;
  type Context = ContextFrom<TMachine>;
  // Every machine snapshot has a value and a context; SnapshotFrom of a generic machine doesn't say so.
  const view = (snapshot: Snapshot) => snapshot as unknown as { value: TState; context: Context };
  const scope = inertScopeFor(machine);

  const apply = (snapshot: Snapshot, event: Event): Snapshot | null => {
    // XState hands back the very same snapshot when no transition is enabled: cheaper than snapshot.can() first.
    const next = machine.transition(snapshot, event, scope) as Snapshot;
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
    run: (start: Snapshot, events: readonly Event[]) => foldEvents(start, events, apply),
  };
}
