import { Hono } from "hono";
import { z } from "zod";
import { deliveryMachine } from "../../actors/delivery.machine.ts";
import { machineConfigJson } from "../../actors/machine-config-json.ts";
import { describeMachine } from "../../actors/machine-graph.ts";
import { machineMermaid } from "../../actors/machine-mermaid.ts";
import { subscriptionMachine } from "../../actors/subscription.machine.ts";
import { query } from "./query.ts";

/**
 * The machine definitions for visual inspection, under /api/v1/machines, each drawn from the
 * machine itself: hookd's graph (default), XState's own definition JSON (?format=xstate, for
 * Stately's tools and createMachine), or Mermaid stateDiagram-v2 text (?format=mermaid).
 */

export const MACHINES_PATH = "/api/v1/machines";

export const MachineQuerySchema = z.object({
  format: z.enum(["hookd", "xstate", "mermaid"], {
    error: 'format must be "hookd" (the default: states and transitions), "xstate" (the machine\'s own JSON) or ' +
      '"mermaid" (stateDiagram-v2 text)',
  }).default("hookd"),
});

export const MachineGraphSchema = z.object({
  id: z.string(),
  initial: z.string(),
  states: z.array(z.object({ name: z.string(), final: z.boolean(), description: z.string().nullable() })),
  transitions: z.array(z.object({
    from: z.string(),
    event: z.string().nullable().describe("null: eventless, taken as soon as its guard holds"),
    to: z.string(),
    internal: z.boolean().describe("no target: the machine stays in `from` and only runs the actions"),
    guard: z.string().nullable(),
    actions: z.array(z.string()),
    description: z.string().nullable(),
  })),
});

/** Mermaid has no registered media type; plain text is what browsers show and renderers accept. */
const MERMAID_CONTENT_TYPE = "text/plain; charset=utf-8";

export function machineRoutes(): Hono {
  const routes = new Hono();
  // Describing a machine walks its whole definition; it never changes while hookd runs, so once is enough.
  for (const [name, machine] of [["delivery", deliveryMachine], ["subscription", subscriptionMachine]] as const) {
    const graph = describeMachine(machine);
    const config = machineConfigJson(machine);
    const mermaid = machineMermaid(graph);
    routes.get(`/${name}`, query(MachineQuerySchema), (c) => {
      const { format } = c.req.valid("query");
      if (format === "mermaid") return c.body(mermaid, 200, { "content-type": MERMAID_CONTENT_TYPE });
      return c.json(format === "xstate" ? config : graph);
    });
  }
  return routes;
}
