import type { AnyStateMachine } from "xstate";

/**
 * A machine's own definition as XState's tools read it: the config given to createMachine, as
 * JSON. Implementations are named by string in the config, so they stay names; a function (the
 * context factory) becomes `{type: <its name>}`, the way Stately's inspector sends a machine's
 * definition. `createMachine` of this JSON gives back the same states and transitions.
 */
export function machineConfigJson(machine: AnyStateMachine): unknown {
  return JSON.parse(
    JSON.stringify(
      machine.config,
      (_key, value) => typeof value === "function" ? { type: (value as { name: string }).name || "inline" } : value,
    ),
  );
}
