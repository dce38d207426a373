import type { MachineGraph } from "./machine-graph.ts";

/**
 * A machine as Mermaid `stateDiagram-v2` text, from its graph (machine-graph.ts), so the diagram
 * any Markdown renderer or mermaid.live draws is the machine itself. Each edge is labelled
 * `event [guard] / actions`; a transition without a target is a loop back to its own state.
 */

/** Mermaid state ids are words: a name like "in-flight" is declared with an id it can use. */
const idOf = (name: string) => name.replace(/[^A-Za-z0-9_]/g, "_");

function label(transition: MachineGraph["transitions"][number]): string {
  const parts = [transition.event ?? "always"];
  if (transition.guard) parts.push(`[${transition.guard}]`);
  if (transition.actions.length > 0) parts.push(`/ ${transition.actions.join(", ")}`);
  return parts.join(" ");
}

export function machineMermaid(graph: MachineGraph): string {
  const lines = ["stateDiagram-v2", `  %% the ${graph.id} machine, generated from its definition`];
  for (const state of graph.states) {
    if (idOf(state.name) !== state.name) lines.push(`  state "${state.name}" as ${idOf(state.name)}`);
  }
  lines.push(`  [*] --> ${idOf(graph.initial)}`);
  for (const transition of graph.transitions) {
    lines.push(`  ${idOf(transition.from)} --> ${idOf(transition.to)} : ${label(transition)}`);
  }
  for (const state of graph.states) if (state.final) lines.push(`  ${idOf(state.name)} --> [*]`);
  return lines.join("\n") + "\n";
}
