import { createRoute } from "@hono/zod-openapi";
import { isEventId } from "../domain/ids.ts";
import { ActorNotFoundError } from "../runtime/errors.ts";
import { type EventViewDeps, EventViewSchema, loadEventView } from "../runtime/event-view.ts";
import { deliveryPath, eventPath, SelfLinkSchema } from "./api-links.ts";
import { type ApiApp, AUTH_PROBLEMS, defineRoute, IdParamsSchema, json, problems } from "./api-docs.ts";
import { NoQuerySchema, query } from "./query.ts";
import { requireUnsafeConsent } from "./stream-routes.ts";

/**
 * GET /api/v1/events/<id>: a published event read back, with its payload and the deliveries it
 * created; a fan-out delivery's JSON links here (`event_id`, `links.event`). 404 for an id that
 * names no event, 410 once the event has aged out of the topic log.
 */

export const EventResponseSchema = EventViewSchema.extend({
  deliveries: EventViewSchema.shape.deliveries.element.extend({ links: SelfLinkSchema }).array(),
  links: SelfLinkSchema,
}).openapi("Event");

const getEventRoute = createRoute({
  method: "get",
  path: "/api/v1/events/{id}",
  operationId: "getEvent",
  summary: "A published event: its topic, type, payload and the deliveries it created",
  tags: ["events"],
  middleware: [query(NoQuerySchema)] as const,
  request: { params: IdParamsSchema },
  responses: {
    200: json("The event", EventResponseSchema),
    ...problems({ 404: "No such event", 410: "The event has aged out of the topic log (see event_id, seq)" }),
    ...AUTH_PROBLEMS,
  },
});

export function mountEventRoutes(app: ApiApp, deps: EventViewDeps): void {
  defineRoute(app, getEventRoute, async (c) => {
    const id = c.req.param("id");
    // Checked before it becomes part of a NATS subject.
    if (!isEventId(id)) throw new ActorNotFoundError("event", id);
    const view = await loadEventView(deps, id);
    // Anyone may publish to /unsafe/ topics, so reading one back takes the same consent as /unsafe/sub/.
    if (view.unsafe) await requireUnsafeConsent(c, async () => {});
    return c.json({
      ...view,
      deliveries: view.deliveries.map((delivery) => ({ ...delivery, links: { self: deliveryPath(delivery.id) } })),
      links: { self: eventPath(id) },
    });
  });
}
