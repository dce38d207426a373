import { z } from "zod";
import { envelopeOf } from "../domain/stream-frames.ts";
import type { Logger } from "../log.ts";
import type { DeliveryStore } from "../nats/delivery-store.ts";
import { orWhenUnreadable } from "../nats/journal.ts";
import type { PublishedEvent, TopicLog } from "../nats/topic-log.ts";
import { ActorNotFoundError, EventExpiredError } from "./errors.ts";
import { fanOutDeliveryId } from "./fan-out.ts";
import { eachInParallel } from "./in-parallel.ts";
import type { SubscriptionDirectory } from "./subscription-directory.ts";

/**
 * A published event as the API shows it: its metadata and payload from the topic log, and the
 * deliveries its fan-out created. Those are found without a scan: a fan-out delivery's id is
 * derived from (event, subscription, the time the log stored the event), so each subscription
 * whose topic covers the event's names the one delivery it may have got, and a direct read says
 * whether it did.
 */

export const EventDeliverySchema = z.object({
  id: z.string(),
  subscription_id: z.string(),
  state: z.string().describe("the delivery's state now; unreadable: its journal holds what this hookd cannot read"),
});

export const EventViewSchema = z.object({
  id: z.string(),
  seq: z.number().int().describe("the event's position in the topic log: streams' ids and ?since= use it"),
  topic: z.string(),
  unsafe: z.boolean().describe("published through Hookbot's /unsafe/pub/, whose topics live apart from the others"),
  type: z.string().nullable(),
  content_type: z.string().nullable(),
  published_at: z.string(),
  body_bytes: z.number().int(),
  body: z.string().optional().describe("the payload as text, when it is UTF-8"),
  body_base64: z.string().optional().describe("the payload in base64, when it is not UTF-8"),
  deliveries: z.array(EventDeliverySchema).describe(
    "what its fan-out created, one per subscription (replays are not listed)",
  ),
});
export type EventView = z.infer<typeof EventViewSchema>;

export type EventViewDeps = {
  topics: TopicLog;
  subscriptionDirectory: SubscriptionDirectory;
  deliveryStore: DeliveryStore;
  log: Pick<Logger, "warn">;
};

/** Reads in flight at once while looking for an event's deliveries (an event may have thousands of subscribers). */
const PARALLEL_READS = 16;

export async function loadEventView(deps: EventViewDeps, id: string): Promise<EventView> {
  const result = await deps.topics.find(id);
  if (result === null) throw new ActorNotFoundError("event", id);
  if ("expired" in result) throw new EventExpiredError(id, result.expired.seq);
  const event = result.found;
  const { id: _id, seq, topic, type, content_type, published_at, ...payload } = envelopeOf(event);
  return {
    id,
    seq,
    topic,
    unsafe: event.namespace === "unsafe",
    type,
    content_type,
    published_at,
    body_bytes: event.body.length,
    ...payload,
    // Fan-out reads only safe topics.
    deliveries: event.namespace === "safe" ? await deliveriesOf(deps, event, result.storedAtMs) : [],
  };
}

async function deliveriesOf(
  deps: EventViewDeps,
  event: PublishedEvent,
  storedAtMs: number,
): Promise<z.infer<typeof EventDeliverySchema>[]> {
  const candidates = deps.subscriptionDirectory.idsCovering(event.topic);
  const found: (z.infer<typeof EventDeliverySchema> | null)[] = new Array(candidates.length).fill(null);
  await eachInParallel(candidates, PARALLEL_READS, async (subscriptionId, index) => {
    const id = await fanOutDeliveryId(event.id, subscriptionId, storedAtMs);
    found[index] = await eventDelivery(deps, event.id, id, subscriptionId);
  });
  return found.filter((delivery) => delivery !== null).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/**
 * The event's delivery to one subscription, or null when it made none. One whose journal this hookd
 * cannot read is listed as `unreadable` (its id is the event's by construction), not failing the view.
 */
function eventDelivery(
  deps: EventViewDeps,
  eventId: string,
  id: string,
  subscriptionId: string,
): Promise<z.infer<typeof EventDeliverySchema> | null> {
  return orWhenUnreadable(readEventDelivery(deps, eventId, id, subscriptionId), (error) => {
    deps.log.warn({ err: error, deliveryId: id }, "an event's delivery cannot be read by this hookd");
    return { id, subscription_id: subscriptionId, state: "unreadable" };
  });
}

async function readEventDelivery(
  deps: EventViewDeps,
  eventId: string,
  id: string,
  subscriptionId: string,
): Promise<z.infer<typeof EventDeliverySchema> | null> {
  const created = await deps.deliveryStore.readJournaledCreated(id);
  if (created?.event.data.bodyRef?.eventId !== eventId) return null;
  const head = await deps.deliveryStore.readHead(id);
  return { id, subscription_id: subscriptionId, state: head?.after.state ?? "pending" };
}
