import type { Hono } from "hono";
import { isEventId } from "../domain/ids.ts";
import { ActorNotFoundError } from "../runtime/errors.ts";
import { type EventViewDeps, EventViewSchema, loadEventView } from "../runtime/event-view.ts";
import { deliveryPath, eventPath, SelfLinkSchema } from "./api-links.ts";
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
});

export function mountEventRoutes(app: Hono, deps: EventViewDeps): void {
  app.get("/api/v1/events/:id", query(NoQuerySchema), async (c) => {
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
