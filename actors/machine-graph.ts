import type { AnyStateMachine, AnyStateNode } from "xstate";

/** A machine's diagram as plain JSON, for a visualiser: states, and every transition with its guard. */
export type MachineGraph = {
  id: string;
  initial: string;
  states: { name: string; final: boolean }[];
  transitions: { from: string; event: string; to: string | null; guard: string | null; actions: string[] }[];
};

function nameOf(node: AnyStateNode): string {
  return node.path.join(".");
}

export function describeMachine(machine: AnyStateMachine): MachineGraph {
  const root = machine.root;
  const nodes = Object.values(root.states) as AnyStateNode[];
  const transitions: MachineGraph["transitions"] = [];
  for (const node of nodes) {
    for (const [event, definitions] of node.transitions) {
      for (const definition of definitions) {
        const guard = definition.guard;
        transitions.push({
          from: nameOf(node),
          event,
          to: definition.target?.length ? nameOf(definition.target[0]!) : null,
          guard: typeof guard === "string"
            ? guard
            : guard && typeof guard === "object" && "type" in guard
            ? String(guard.type)
            : null,
          actions: (definition.actions as unknown[]).map((action) =>
            typeof action === "string"
              ? action
              : action && typeof action === "object" && "type" in action
              ? String(action.type)
              : "inline"
          ),
        });
      }
    }
  }
  const initial = root.config.initial;
  return {
    id: root.id,
    initial: typeof initial === "string" ? initial : "",
    states: nodes.map((node) => ({ name: nameOf(node), final: node.type === "final" })),
    transitions,
  };
}
