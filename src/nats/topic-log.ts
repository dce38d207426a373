import { AckPolicy, DeliverPolicy, type JetStreamManager, type JsMsg, type StoredMsg } from "@nats-io/jetstream";
import type { MsgHdrs } from "@nats-io/transport-node";
import { IdempotencyKeyReusedError, publishConflicts } from "../domain/idempotency.ts";
import type { TopicNamespace } from "../domain/topic-name.ts";
import { RecentPromises } from "../domain/recent-promises.ts";
import { EventIndex } from "./event-index.ts";
import { publishFailure, unavailable } from "./journal.ts";
import type { JetStreamPublisher } from "./jetstream-publisher.ts";
import type { JetStreamLayout } from "./layout.ts";

/**
 * The topic log: each published event is one message on its topic's subject, the body stored as
 * sent and the metadata in headers. Its stream sequence is the event's position (the id SSE
 * listeners resume from), and an Idempotency-Key is the message id JetStream dedupes on.
 */

export const EVENT_ID_HEADER = "Hookd-Event-Id";
export const EVENT_TYPE_HEADER = "Hookd-Event-Type";
export const CONTENT_TYPE_HEADER = "Content-Type";
const PUBLISHED_AT_HEADER = "Hookd-Published-At";

export type PublishedEvent = {
  id: string;
  seq: number;
  topic: string;
  namespace: TopicNamespace;
  type: string | null;
  contentType: string | null;
  publishedAt: string;
  body: Uint8Array;
};

export type Publish = {
  id: string;
  topic: string;
  namespace: TopicNamespace;
  body: Uint8Array;
  contentType?: string | undefined;
  type?: string | undefined;
  idempotencyKey?: string | undefined;
  /**
   * A publish whose key was used for a different event: refused (the default, what a client is
   * told), or answered with the first event, for a publisher whose keys name their source and
   * whose first event stands (a router redoing a message).
   */
  onKeyReuse?: "refuse" | "first";
  publishedAt: string;
};

/** A stored message (direct get) or a consumed one (JsMsg) as an event. */
export function eventOfMessage(message: StoredMsg | JsMsg, layout: JetStreamLayout): PublishedEvent {
  const { topic, namespace } = layout.topicOf(message.subject);
  const headers: MsgHdrs | undefined = "header" in message ? message.header : message.headers;
  const header = (name: string) => headers?.get(name) || null;
  return {
    id: header(EVENT_ID_HEADER) ?? `seq-${message.seq}`,
    seq: message.seq,
    topic,
    namespace,
    type: header(EVENT_TYPE_HEADER),
    contentType: header(CONTENT_TYPE_HEADER),
    publishedAt: header(PUBLISHED_AT_HEADER) ?? message.time.toISOString(),
    body: message.data,
  };
}

/** What a lookup by event id finds: the event with the time the log stored it, or that it has aged out of the log. */
export type FoundEvent = { found: PublishedEvent; storedAtMs: number } | { expired: { seq: number } } | null;

const SEQ_ID = /^seq-(\d+)$/;

/** The stored events read most recently: a fan-out sends one event to every subscription, each a delivery reading it. */
const EVENTS_KEPT = 256;
const NOT_STORED = Symbol("not stored");

export class TopicLog {
  readonly #index: EventIndex;
  readonly #recent = new RecentPromises<number, PublishedEvent>(EVENTS_KEPT);

  constructor(
    private readonly jsm: JetStreamManager,
    private readonly publisher: JetStreamPublisher,
    private readonly layout: JetStreamLayout,
    /** Told when an event was stored but its by-id record was not; the publish still succeeds. */
    private readonly onIndexFailure: (eventId: string, error: unknown) => void = () => {},
  ) {
    this.#index = new EventIndex(jsm, publisher, layout);
  }

  /**
   * The event is stored once the topic log acknowledged it: a failed by-id record must not turn that
   * into an error (a client would publish it again). It only leaves the event unfindable by id until
   * the same Idempotency-Key is published again, which records it.
   */
  async #record(eventId: string, seq: number): Promise<void> {
    try {
      await this.#index.record(eventId, seq);
    } catch (error) {
      this.onIndexFailure(eventId, error);
    }
  }

  /**
   * Stores the event. A repeated Idempotency-Key on the topic answers with the first event
   * instead when the body, content type and type are the same, and is refused when they are not.
   */
  async publish(event: Publish): Promise<{ id: string; seq: number; duplicate: boolean }> {
    const headers: Record<string, string> = { [EVENT_ID_HEADER]: event.id, [PUBLISHED_AT_HEADER]: event.publishedAt };
    if (event.contentType) headers[CONTENT_TYPE_HEADER] = event.contentType;
    if (event.type) headers[EVENT_TYPE_HEADER] = event.type;
    const subject = this.layout.subjects.topic(event.topic, event.namespace);
    const msgID = event.idempotencyKey === undefined
      ? undefined
      : `idempotency:${event.namespace}:${event.topic}:${event.idempotencyKey}`;
    let ack;
    try {
      ack = await this.publisher.publish(subject, event.body, { headers, msgID, timeoutMs: 5_000 });
    } catch (error) {
      throw publishFailure(error);
    }
    if (!ack.duplicate) {
      await this.#record(event.id, ack.seq);
      return { id: event.id, seq: ack.seq, duplicate: false };
    }
    const original = await this.read(ack.seq);
    if (original) {
      const again = { body: event.body, contentType: event.contentType || null, type: event.type || null };
      const conflicts = event.onKeyReuse === "first" ? [] : publishConflicts(original, again);
      if (conflicts.length > 0) throw new IdempotencyKeyReusedError(event.idempotencyKey!, "event", conflicts);
      // Records the first publish's event again, in case it stopped between storing the event and recording it.
      await this.#record(original.id, ack.seq);
    }
    return { id: original?.id ?? event.id, seq: ack.seq, duplicate: true };
  }

  /** The event with this id, by its record in the index (or its sequence, for an id of the form seq-<n>). */
  async find(id: string): Promise<FoundEvent> {
    const seq = SEQ_ID.test(id) ? Number(SEQ_ID.exec(id)![1]) : await this.#index.seqOf(id);
    if (seq === null) return null;
    const message = await this.jsm.direct.getMessage(this.layout.streams.topics, { seq }).catch(unavailable);
    const event = message ? eventOfMessage(message, this.layout) : null;
    if (event?.id === id) return { found: event, storedAtMs: message!.time.getTime() };
    // A seq-<n> id whose message is gone (or has an id of its own) names nothing that can be known to have existed.
    return SEQ_ID.test(id) ? null : { expired: { seq } };
  }

  /**
   * The first event after `afterSeq` on a subject filter (a topic, or `….>` for every topic below one),
   * with the time the log stored it; null when there is none yet.
   */
  async readNext(afterSeq: number, filter: string): Promise<{ event: PublishedEvent; storedAtMs: number } | null> {
    const message = await this.jsm.direct
      .getMessage(this.layout.streams.topics, { seq: afterSeq + 1, next_by_subj: filter })
      .catch(unavailable);
    return message ? { event: eventOfMessage(message, this.layout), storedAtMs: message.time.getTime() } : null;
  }

  /** The sequence of the newest event in the log (0 for an empty log): where a line that starts now begins. */
  async lastSeq(): Promise<number> {
    const info = await this.jsm.streams.info(this.layout.streams.topics).catch(unavailable);
    return info.state.last_seq;
  }

  /** How many events on a subject filter the log holds after `afterSeq`, counted by the server. */
  async countAfter(afterSeq: number, filter: string): Promise<number> {
    const stream = this.layout.streams.topics;
    const info = await this.jsm.consumers.add(stream, {
      ack_policy: AckPolicy.None,
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: afterSeq + 1,
      filter_subject: filter,
      mem_storage: true,
      inactive_threshold: 30_000_000_000,
    }).catch(unavailable);
    await this.jsm.consumers.delete(stream, info.name).catch(() => undefined);
    return info.num_pending;
  }

  async read(seq: number): Promise<PublishedEvent | null> {
    const message = await this.jsm.direct.getMessage(this.layout.streams.topics, { seq }).catch(unavailable);
    return message ? eventOfMessage(message, this.layout) : null;
  }

  /**
   * The same through a cache of the events read last, for the worker: a fan-out sends one event to
   * every subscription, each a delivery reading it. An event that ages out while cached is still
   * sent for a moment; inspection (read) always asks the log.
   */
  async readRecent(seq: number): Promise<PublishedEvent | null> {
    return await this.#recent.get(seq, () => this.#readStored(seq)).catch((error: unknown) => {
      if (error === NOT_STORED) return null;
      throw error;
    });
  }

  /** Rejects with NOT_STORED rather than caching a miss: a replica that has not caught up yet may answer one. */
  async #readStored(seq: number): Promise<PublishedEvent> {
    const message = await this.jsm.direct.getMessage(this.layout.streams.topics, { seq }).catch(unavailable);
    if (!message) throw NOT_STORED;
    return eventOfMessage(message, this.layout);
  }
}
