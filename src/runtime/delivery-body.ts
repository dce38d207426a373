import { fromBase64 } from "../domain/bytes.ts";
import type { DeliveryStore } from "../nats/delivery-store.ts";
import type { TopicLog } from "../nats/topic-log.ts";
import { DeliveryNotFoundError } from "./delivery-commands.ts";
import { EventExpiredError } from "./errors.ts";

/**
 * The body a delivery sends, byte for byte, with its content type: stored with the delivery, or
 * for a fan-out delivery the published event's, read from the topic log (where it is kept once
 * for every subscriber, until HOOKD_TOPIC_MAX_AGE).
 */

export type DeliveryBody = { body: Uint8Array; contentType: string };

export async function loadDeliveryBody(
  deps: { deliveryStore: DeliveryStore; topics: TopicLog },
  id: string,
): Promise<DeliveryBody> {
  const created = await deps.deliveryStore.readCreated(id);
  if (!created) throw new DeliveryNotFoundError(id);
  const { request, bodyRef } = created.event.data;
  const contentType = request.headers["content-type"] ?? "application/octet-stream";
  if (!bodyRef) return { body: fromBase64(request.body), contentType };
  const event = await deps.topics.read(bodyRef.topicSeq);
  // A sequence that now holds another event means the log was reset: the delivery's own event is gone.
  if (!event || event.id !== bodyRef.eventId) throw new EventExpiredError(bodyRef.eventId, bodyRef.topicSeq);
  return { body: event.body, contentType };
}
