import type { AnyStateMachine } from "xstate";

/**
 * Steps a flat machine straight from its own definition, for the delivery hot path. XState's
 * transition builds and clones snapshots, resolves transition domains and runs microsteps: about
 * 11 µs per delivery (three steps), 8% of a worker's CPU. A machine whose states only have `on`
 * transitions, with named guards, named `assign` actions and sibling targets, needs none of that:
 * the first transition whose guard passes is taken, its assigns are applied in order, and the
 * state becomes its target. That is what XState does for such a machine (a test holds the two
 * equal over every state, context and event shape the delivery machine knows).
 *
 * As in XState, a transition chosen that neither moves nor assigns leaves the state as it was, and
 * counts as refused. A definition with anything else (nested or parallel states,
 * entry/exit/always/after/invoke, root-level transitions, wildcard or `xstate.` events, a final
 * state with transitions, guard or action objects, non-assign actions) yields null: the caller then
 * steps it with XState. `assign`'s `assignment` is XState's own field; an upgrade that drops it also
 * yields null, never a wrong step. Guards and assigns are given the context and the event: what
 * XState also hands them (`self`, `system`, `spawn`) needs an actor, and reading it throws here.
 */

export type FlatState<TState extends string, TContext> = { readonly value: TState; readonly context: TContext };
export type FlatStep<TState extends string, TContext, TEvent> = (
  state: FlatState<TState, TContext>,
  event: TEvent,
) => FlatState<TState, TContext> | null;

type Args = { context: Record<string, unknown>; event: { type: string } };
type Guard = (args: Args, params: undefined) => boolean;
type Assignment = ((args: Args, params: undefined) => Record<string, unknown>) | Record<string, unknown>;
/** `inert`: chosen, it neither moves nor assigns, so the step is refused (XState keeps its snapshot). */
type Transition = { guard: Guard | null; target: string | null; assignments: Assignment[]; inert: boolean };

const STATE_KEYS = new Set(["description", "on", "type", "meta", "tags"]);
const TRANSITION_KEYS = new Set(["guard", "target", "actions", "description", "meta"]);
const MACHINE_KEYS = new Set(["id", "initial", "context", "states", "description", "types", "version", "schemas"]);

const actorless = (name: string) => ({
  get(): never {
    throw new Error(`a machine stepped by flat-stepper.ts has no actor: its guards and assigns cannot read ${name}`);
  },
});
/** The prototype of every guard's and assign's argument: what needs an actor throws when read. */
const ARGS_PROTOTYPE = Object.create(null, {
  self: actorless("self"),
  system: actorless("system"),
  spawn: actorless("spawn"),
});

function argsOf(context: Record<string, unknown>, event: { type: string }): Args {
  const args = Object.create(ARGS_PROTOTYPE) as Args;
  args.context = context;
  args.event = event;
  return args;
}

const hasOnly = (object: object, keys: Set<string>) => Object.keys(object).every((key) => keys.has(key));
const listOf = <T>(
  value: T | T[] | undefined,
): T[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

export function flatStepperFor<TState extends string, TContext, TEvent extends { type: string }>(
  machine: AnyStateMachine,
): FlatStep<TState, TContext, TEvent> | null {
  const config = machine.config as { states?: Record<string, Record<string, unknown>> };
  if (!hasOnly(config, MACHINE_KEYS) || !config.states) return null;
  const table = new Map<string, Map<string, Transition[]>>();
  for (const [name, node] of Object.entries(config.states)) {
    const transitions = stateTransitions(machine, name, node, new Set(Object.keys(config.states)));
    if (!transitions) return null;
    table.set(name, transitions);
  }
  return (state, event) => {
    const candidates = table.get(state.value)?.get(event.type);
    if (!candidates) return null;
    for (const transition of candidates) {
      if (transition.guard && !transition.guard(argsOf(state.context as Record<string, unknown>, event), undefined)) {
        continue;
      }
      if (transition.inert) return null;
      let context = state.context as Record<string, unknown>;
      for (const assignment of transition.assignments) {
        context = { ...context, ...assigned(assignment, argsOf(context, event)) };
      }
      return { value: (transition.target ?? state.value) as TState, context: context as TContext };
    }
    return null;
  };
}

/** A state's transitions by event type; null when it uses anything beyond what this stepper does. */
function stateTransitions(
  machine: AnyStateMachine,
  name: string,
  node: Record<string, unknown>,
  siblings: Set<string>,
): Map<string, Transition[]> | null {
  if (!hasOnly(node, STATE_KEYS)) return null;
  const transitions = new Map<string, Transition[]>();
  // A final state takes no event (the machine is done); XState's handling of one with transitions is not followed here.
  if (node.type === "final") return node.on === undefined ? transitions : null;
  if (node.type !== undefined && node.type !== "atomic") return null;
  for (const [eventType, raw] of Object.entries((node.on ?? {}) as Record<string, unknown>)) {
    if (eventType.includes("*") || eventType.startsWith("xstate.")) return null;
    const list: Transition[] = [];
    for (const item of listOf(raw as unknown)) {
      const transition = transitionOf(machine, name, typeof item === "string" ? { target: item } : item, siblings);
      if (!transition) return null;
      list.push(transition);
    }
    transitions.set(eventType, list);
  }
  return transitions;
}

function transitionOf(machine: AnyStateMachine, from: string, raw: unknown, siblings: Set<string>): Transition | null {
  if (typeof raw !== "object" || raw === null || !hasOnly(raw, TRANSITION_KEYS)) return null;
  const { guard, target, actions } = raw as { guard?: unknown; target?: unknown; actions?: unknown };
  const implementations = machine.implementations as {
    guards: Record<string, unknown>;
    actions: Record<string, unknown>;
  };
  let check: Guard | null = null;
  if (guard !== undefined) {
    const named = typeof guard === "string" ? implementations.guards[guard] : undefined;
    // XState's guard helpers (and, or, not, stateIn) carry a `check`; only plain named guards are stepped here.
    if (typeof named !== "function" || "check" in named) return null;
    check = named as Guard;
  }
  if (target !== undefined && (typeof target !== "string" || !siblings.has(target))) return null;
  const assignments: Assignment[] = [];
  for (const name of listOf(actions as unknown)) {
    const action = typeof name === "string" ? implementations.actions[name] : undefined;
    const assignment = (action as { type?: unknown; assignment?: unknown } | undefined)?.assignment;
    if ((action as { type?: unknown } | undefined)?.type !== "xstate.assign") return null;
    if (typeof assignment !== "function" && (typeof assignment !== "object" || assignment === null)) return null;
    assignments.push(assignment as Assignment);
  }
  const to = (target as string | undefined) ?? null;
  return { guard: check, target: to, assignments, inert: assignments.length === 0 && (to === null || to === from) };
}

/** An assign's partial context, as XState computes it (a function of the whole, or one per key). */
function assigned(assignment: Assignment, args: Args): Record<string, unknown> {
  if (typeof assignment === "function") return assignment(args, undefined);
  const partial: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(assignment)) {
    partial[key] = typeof value === "function" ? (value as (a: Args, p: undefined) => unknown)(args, undefined) : value;
  }
  return partial;
}
