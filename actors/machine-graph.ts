import type { AnyStateMachine, AnyStateNode, TransitionDefinition } from "xstate";

/**
 * A machine's diagram as plain JSON, for a visualiser: states with their descriptions, and every
 * transition the machine really takes, drawn from its definition. A transition without a target
 * stays where it is (`to` is its own state, `internal`: nothing is left or re-entered, only its
 * actions run); an eventless one (`always`) has `event: null`; one declared on the machine itself
 * is listed from each state it applies to.
 */
export type MachineGraph = {
  id: string;
  initial: string;
  states: { name: string; final: boolean; description: string | null }[];
  transitions: GraphTransition[];
};

export type GraphTransition = {
  from: string;
  /** null for an eventless transition, taken as soon as its guard holds. */
  event: string | null;
  to: string;
  internal: boolean;
  guard: string | null;
  actions: string[];
  description: string | null;
};

// deno-lint-ignore no-explicit-any -- XState's definitions are generic over every machine
type AnyTransition = TransitionDefinition<any, any>;

const nameOf = (node: AnyStateNode): string => node.path.join(".");

function implementationName(value: unknown): string | null {
  if (typeof value === "string") return value;
  if (value && typeof value === "object" && "type" in value) return String(value.type);
  return value === undefined || value === null ? null : "inline";
}

function edge(from: AnyStateNode, event: string | null, definition: AnyTransition): GraphTransition {
  const target = definition.target?.[0];
  return {
    from: nameOf(from),
    event,
    to: target ? nameOf(target) : nameOf(from),
    internal: !target,
    guard: implementationName(definition.guard),
    actions: (definition.actions as unknown[]).map((action) => implementationName(action) ?? "inline"),
    description: definition.description ?? null,
  };
}

/** A state's own transitions, its eventless ones, then the machine's, for events the state does not handle itself. */
function transitionsFrom(node: AnyStateNode, root: AnyStateNode): GraphTransition[] {
  if (node.type === "final") return [];
  const own = [...node.transitions].flatMap(([event, definitions]) =>
    definitions.map((definition) => edge(node, event, definition))
  );
  const always = (node.always ?? []).map((definition) => edge(node, null, definition));
  const inherited = [...root.transitions]
    .filter(([event]) => !node.transitions.has(event))
    .flatMap(([event, definitions]) => definitions.map((definition) => edge(node, event, definition)));
  return [...own, ...always, ...inherited];
}

export function describeMachine(machine: AnyStateMachine): MachineGraph {
  const root = machine.root;
  const nodes = Object.values(root.states) as AnyStateNode[];
  const initial = root.config.initial;
  return {
    id: root.id,
    initial: typeof initial === "string" ? initial : "",
    states: nodes.map((node) => ({
      name: nameOf(node),
      final: node.type === "final",
      description: node.description ?? null,
    })),
    transitions: nodes.flatMap((node) => transitionsFrom(node, root)),
  };
}
