import { Hono } from "hono";
import { deliveryMachine } from "../../actors/delivery.machine.ts";
import { describeMachine } from "../../actors/machine-graph.ts";
import { subscriptionMachine } from "../../actors/subscription.machine.ts";
import { NoQuerySchema, query } from "./query.ts";

/** The machine definitions for visual inspection, under /api/v1/machines: drawn from the machines themselves. */

export const MACHINES_PATH = "/api/v1/machines";

export function machineRoutes(): Hono {
  const routes = new Hono();
  // Describing a machine walks its whole definition; it never changes while hookd runs, so once is enough.
  const delivery = describeMachine(deliveryMachine);
  const subscription = describeMachine(subscriptionMachine);
  routes.get("/delivery", query(NoQuerySchema), (c) => c.json(delivery));
  routes.get("/subscription", query(NoQuerySchema), (c) => c.json(subscription));
  return routes;
}
