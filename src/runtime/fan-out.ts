import { sha256 } from "../domain/hashes.ts";
import type { JsMsg } from "@nats-io/jetstream";
import { toBase64 } from "../domain/bytes.ts";
import type { DeliveryCreated } from "../domain/delivery-events.ts";
import type { DeliverySecrets } from "../domain/delivery-secrets.ts";
import { DELIVERY_ID_PREFIX, ulid } from "../domain/ids.ts";
import type { SubscriptionIndex } from "../domain/subscription-index.ts";
import type { Logger } from "../log.ts";
import type { DeliveryStore } from "../nats/delivery-store.ts";
import type { JetStreamLayout } from "../nats/layout.ts";
import { CONTENT_TYPE_HEADER, EVENT_ID_HEADER, EVENT_TYPE_HEADER } from "../nats/topic-log.ts";
import { eachInParallel } from "./in-parallel.ts";
import { type FanOutTarget, secretsAt } from "./subscription-directory.ts";

/**
 * Turns one published event into one delivery per matching active subscription. A delivery's id
 * is derived from (event, subscription), so an event fanned out again after a crash names the same
 * deliveries, and makes no second one; the body stays in the topic log, referenced by sequence. The
 * fan-out consumer's events are worked by FanOutWorker (decision record 27); replays and ordered lines
 * create their deliveries here, exclusively.
 */

export type FanOutDeps = {
  index: SubscriptionIndex<FanOutTarget>;
  deliveries: DeliveryStore;
  /** Seals each delivery's copy of its subscription's secrets. */
  secrets: DeliverySecrets;
  layout: JetStreamLayout;
  defaultSchedule: readonly number[];
  log: Logger;
  /** Creates in flight at once for one replayed event (an event may have thousands of subscribers). */
  parallelism?: number;
  /** hookd's public base URL, for the websub dialect's Link headers (hub and topic "self" URLs). */
  publicBase?: string;
  /** Told of an event for an ordered subscription, which its line takes from the log in its turn. */
  onOrderedEvent?: (subscriptionId: string) => Promise<void>;
};

/** A delivery id derived from the event and the subscription: the event's time, then 80 bits of their hash. */
export async function fanOutDeliveryId(
  eventId: string,
  subscriptionId: string,
  publishedAtMs: number,
): Promise<string> {
  const digest = await sha256(new TextEncoder().encode(`${eventId}\n${subscriptionId}`));
  return DELIVERY_ID_PREFIX + ulid(publishedAtMs, digest.subarray(0, 10));
}

/** A stored event as fan-out reads it: from the fan-out consumer, or from the log by an ordered line. */
export type FanOutEvent = {
  seq: number;
  topic: string;
  id: string;
  type: string | null;
  contentType: string | null;
  /** When the log stored it; part of the delivery's derived id. */
  storedAtMs: number;
};

function fanOutEventOf(message: JsMsg, topic: string): FanOutEvent {
  const header = (name: string) => message.headers?.get(name) || null;
  return {
    seq: message.seq,
    topic,
    id: header(EVENT_ID_HEADER) ?? `seq-${message.seq}`,
    type: header(EVENT_TYPE_HEADER),
    contentType: header(CONTENT_TYPE_HEADER),
    storedAtMs: Math.floor(message.info.timestampNanos / 1e6),
  };
}

export class FanOut {
  constructor(private readonly deps: FanOutDeps) {}

  /** The stored event a fan-out consumer's message is; null when its subject is not a topic's. */
  eventOf(message: JsMsg): FanOutEvent | null {
    try {
      return fanOutEventOf(message, this.deps.layout.topicOf(message.subject).topic);
    } catch (error) {
      this.deps.log.error({ err: error, subject: message.subject }, "not a topic subject; skipping it");
      return null;
    }
  }

  /**
   * The subscriptions the event goes to. An ordered subscription's deliveries are made by its line, one
   * at a time, from the log itself: the event only tells the line that there may be more to take.
   */
  async targetsOf(event: FanOutEvent): Promise<FanOutTarget[]> {
    const matched = this.deps.index.match(event.topic, event.type);
    const ordered = matched.filter((target) => target.ordered);
    await Promise.all(ordered.map((target) => this.deps.onOrderedEvent?.(target.id)));
    return ordered.length === 0 ? matched : matched.filter((target) => !target.ordered);
  }

  /** Creates deliveries of a stored event to the given subscriptions (a replay), whatever their state. */
  async deliverTo(message: JsMsg, subscriptionIds: readonly string[], replayId: string): Promise<number> {
    const targets = subscriptionIds.map((id) => this.deps.index.get(id)).filter((target): target is FanOutTarget =>
      target !== undefined
    );
    return this.create(fanOutEventOf(message, this.deps.layout.topicOf(message.subject).topic), targets, replayId);
  }

  /** The delivery of an event to one ordered subscription, made when the event reaches the head of its line. */
  createOrdered(event: FanOutEvent, target: FanOutTarget): Promise<{ id: string; created: boolean }> {
    return this.createOne(event, target, { ordered: true });
  }

  private async create(event: FanOutEvent, targets: readonly FanOutTarget[], replayId?: string): Promise<number> {
    const parallelism = this.deps.parallelism ?? 64;
    let created = 0;
    await eachInParallel(targets, parallelism, async (target) => {
      if ((await this.createOne(event, target, replayId ? { replayId } : {})).created) created++;
    });
    return created;
  }

  private async createOne(
    event: FanOutEvent,
    target: FanOutTarget,
    options: { replayId?: string; ordered?: boolean },
  ): Promise<{ id: string; created: boolean }> {
    const created = await this.deliveryOf(event, target, options);
    return {
      id: created.data.id,
      created: !(await this.deps.deliveries.create(created, { exclusive: true })).duplicate,
    };
  }

  /**
   * The delivery of `event` to `target`, as its created event. Its id is derived from both, so making it
   * again (the event handed out again after a crash) names the same delivery.
   */
  async deliveryOf(
    event: FanOutEvent,
    target: FanOutTarget,
    options: { replayId?: string; ordered?: boolean } = {},
  ): Promise<DeliveryCreated> {
    const { topic, id: eventId, type, contentType } = event;
    const publishedAt = event.storedAtMs;
    const { replayId } = options;
    const id = await fanOutDeliveryId(replayId ? `${eventId}\n${replayId}` : eventId, target.id, publishedAt);
    const headers: Record<string, string> = { ...target.headers, "hookd-topic": topic, "hookd-event-id": eventId };
    if (type) headers["hookd-event-type"] = type;
    if (contentType) headers["content-type"] = contentType;
    // WebSub hub subscriptions carry their own Link (with the publisher's topic URL); others point at this hub.
    if (target.dialect === "websub" && !headers.link && this.deps.publicBase) {
      const self = `${this.deps.publicBase}/sub/${topic.split("/").map(encodeURIComponent).join("/")}`;
      headers.link = `<${this.deps.publicBase}/hub>; rel="hub", <${self}>; rel="self"`;
    }
    const created: DeliveryCreated = {
      type: "delivery.created",
      at: new Date(publishedAt).toISOString(),
      data: {
        id,
        request: { url: target.url, method: "POST", headers, body: toBase64(new Uint8Array(0)) },
        schedule: [...(target.retrySchedule ?? this.deps.defaultSchedule)],
        // Secrets as they stood when the event was published, so fanning out again gives the same delivery; a
        // replay, and an ordered event that may have waited past a rotation's grace period, sign as of now.
        secrets: await this.deps.secrets.seal(
          secretsAt(target.secrets, replayId || options.ordered ? Date.now() : publishedAt),
        ),
        source: "fan-out",
        bodyRef: { topicSeq: event.seq, eventId },
        subscriptionId: target.id,
        dialect: target.dialect,
        ...(target.rateLimit ? { rateLimit: { key: target.id, perSecond: target.rateLimit } } : {}),
        ...(options.ordered ? { ordered: true as const } : {}),
        ...reportUrlsOf(target.subscription.config),
      },
    };
    return created;
  }
}

/** A subscription's report URLs, copied onto each of its deliveries when it is made. */
function reportUrlsOf(config: FanOutTarget["subscription"]["config"]): { callbackUrl?: string; errbackUrl?: string } {
  return {
    ...(config.callbackUrl ? { callbackUrl: config.callbackUrl } : {}),
    ...(config.errbackUrl ? { errbackUrl: config.errbackUrl } : {}),
  };
}
