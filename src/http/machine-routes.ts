import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import type { BlankEnv, BlankSchema } from "hono/types";
import { z } from "zod";
import { deliveryMachine } from "../../actors/delivery.machine.ts";
import { machineConfigJson } from "../../actors/machine-config-json.ts";
import { describeMachine } from "../../actors/machine-graph.ts";
import { machineMermaid } from "../../actors/machine-mermaid.ts";
import { subscriptionMachine } from "../../actors/subscription.machine.ts";
import { AUTH_PROBLEMS, defineRoute, problems } from "./api-docs.ts";
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
}).openapi("MachineGraph");

/** XState's own machine definition (createMachine's config as JSON); its shape is XState's, not hookd's. */
const XStateMachineSchema = z.record(z.string(), z.unknown()).openapi("XStateMachine");

function machineRoute(name: string) {
  return createRoute({
    method: "get",
    path: `/${name}`,
    operationId: `get${name[0]!.toUpperCase()}${name.slice(1)}Machine`,
    summary: `The ${name} machine's states and transitions`,
    tags: ["machines"],
    middleware: [query(MachineQuerySchema)] as const,
    request: { query: MachineQuerySchema },
    responses: {
      200: {
        description: "hookd's graph (format=hookd), XState's JSON (format=xstate) or Mermaid text (format=mermaid)",
        content: {
          "application/json": { schema: z.union([MachineGraphSchema, XStateMachineSchema]) },
          "text/plain": { schema: z.string().describe("Mermaid stateDiagram-v2") },
        },
      },
      ...problems({ 400: "Unknown format or parameter" }),
      ...AUTH_PROBLEMS,
    },
  });
}

/** Mermaid has no registered media type; plain text is what browsers show and renderers accept. */
const MERMAID_CONTENT_TYPE = "text/plain; charset=utf-8";

export function machineRoutes(): OpenAPIHono<BlankEnv, BlankSchema> {
  const routes = new OpenAPIHono<BlankEnv, BlankSchema>();
  // Describing a machine walks its whole definition; it never changes while hookd runs, so once is enough.
  for (const [name, machine] of [["delivery", deliveryMachine], ["subscription", subscriptionMachine]] as const) {
    const graph = describeMachine(machine);
    const config = machineConfigJson(machine);
    const mermaid = machineMermaid(graph);
    defineRoute(routes, machineRoute(name), (c) => {
      const { format } = c.req.valid("query");
      if (format === "mermaid") return c.body(mermaid, 200, { "content-type": MERMAID_CONTENT_TYPE });
      return c.json(format === "xstate" ? config : graph);
    });
  }
  return routes;
}
