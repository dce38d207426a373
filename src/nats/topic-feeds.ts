import {
  type ConsumerMessages,
  DeliverPolicy,
  type JetStreamClient,
  type JetStreamManager,
  type PushConsumer,
} from "@nats-io/jetstream";
import type { Logger } from "../log.ts";
import { NatsUnavailableError } from "./journal.ts";
import { eventOfMessage, type PublishedEvent } from "./topic-log.ts";
import type { JetStreamLayout } from "./layout.ts";
import { endOfTurn } from "./end-of-turn.ts";

/**
 * Live topic feeds: one ordered push consumer per subject filter per instance, shared by every
 * listener of that filter here, so a thousand listeners on one topic cost NATS one consumer. A feed
 * starts with its first listener and its consumer is deleted as soon as its last listener leaves.
 */

export type FeedListener = {
  /** The messages that arrived in one turn of the event loop, in order: one write per listener instead of one per message. */
  deliver(events: readonly PublishedEvent[]): void;
  /** The feed stopped for good (its consumer gave up, e.g. after a long NATS outage); the listener must end. */
  lost(): void;
};

export type FeedAttachment = {
  /**
   * Every message of the filter up to this sequence was published before the listener attached;
   * every one after it reaches the listener live. A listener resuming from an older sequence
   * catches up to here from the log.
   */
  coveredUpTo: number;
  detach(): void;
};

type Feed = {
  listeners: Set<FeedListener>;
  /** Messages of this turn, handed to the listeners together when it ends. */
  batch: PublishedEvent[];
  /** Attached listeners plus attaches still waiting for the feed to start. */
  refs: number;
  delivered: number;
  ready: Promise<void>;
  consumer?: PushConsumer;
  messages?: ConsumerMessages;
  closed: boolean;
};

export class TopicFeeds {
  readonly #feeds = new Map<string, Feed>();

  constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly log: Logger,
    private readonly layout: JetStreamLayout,
  ) {}

  /** How many feeds (NATS consumers) this instance holds; for tests and metrics. */
  get size(): number {
    return this.#feeds.size;
  }

  async attach(filter: string, listener: FeedListener): Promise<FeedAttachment> {
    let feed = this.#feeds.get(filter);
    if (!feed) {
      feed = { listeners: new Set(), batch: [], refs: 0, delivered: 0, ready: Promise.resolve(), closed: false };
      feed.ready = this.#start(filter, feed);
      this.#feeds.set(filter, feed);
    }
    feed.refs++;
    try {
      await feed.ready;
    } catch (error) {
      this.#release(filter, feed);
      throw error;
    }
    // No await between reading `delivered` and joining: the next message the feed hands out is the listener's first live one.
    feed.listeners.add(listener);
    const attachedFeed = feed;
    let attached = true;
    return {
      coveredUpTo: feed.delivered,
      detach: () => {
        if (!attached) return;
        attached = false;
        attachedFeed.listeners.delete(listener);
        this.#release(filter, attachedFeed);
      },
    };
  }

  async #start(filter: string, feed: Feed): Promise<void> {
    try {
      await this.#open(filter, feed);
    } catch (error) {
      throw error instanceof NatsUnavailableError ? error : new NatsUnavailableError(error);
    }
  }

  async #open(filter: string, feed: Feed): Promise<void> {
    const info = await this.jsm.streams.info(this.layout.streams.topics);
    feed.delivered = info.state.last_seq;
    const consumer = await this.js.consumers.getPushConsumer(this.layout.streams.topics, {
      filter_subjects: filter,
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: info.state.last_seq + 1,
    });
    feed.consumer = consumer;
    const messages = await consumer.consume({
      callback: (message) => {
        let event: PublishedEvent;
        try {
          event = eventOfMessage(message, this.layout);
        } catch (error) {
          this.log.warn({ err: error, subject: message.subject }, "skipping a topic message that cannot be read");
          return;
        }
        // Counted as covered now: a listener attaching later this turn gets it from the batch, not from a catch-up.
        feed.delivered = event.seq;
        if (feed.batch.length === 0) endOfTurn(() => this.#handOut(filter, feed));
        feed.batch.push(event);
      },
    });
    feed.messages = messages;
    void messages.closed().then((error) => {
      if (feed.closed) return;
      // The ordered consumer gave up (it does after many failed re-creates): end its listeners so they resume elsewhere or later.
      this.log.warn({ err: error, filter }, "a live topic feed stopped; ending its streams");
      feed.closed = true;
      if (this.#feeds.get(filter) === feed) this.#feeds.delete(filter);
      for (const listener of [...feed.listeners]) listener.lost();
      void consumer.delete().catch(() => undefined);
    });
  }

  #handOut(filter: string, feed: Feed): void {
    const events = feed.batch;
    feed.batch = [];
    // nats.js stops a consumer whose callback throws; one listener's bug must not end everyone's feed.
    for (const listener of feed.listeners) {
      try {
        listener.deliver(events);
      } catch (error) {
        this.log.error({ err: error, filter }, "a stream listener failed on a message");
      }
    }
  }

  #release(filter: string, feed: Feed): void {
    feed.refs--;
    if (feed.refs > 0) return;
    feed.closed = true;
    if (this.#feeds.get(filter) === feed) this.#feeds.delete(filter);
    void feed.ready.then(() => this.#stopConsumer(feed)).catch(() => undefined);
  }

  async #stopConsumer(feed: Feed): Promise<void> {
    const { messages, consumer } = feed;
    feed.messages = undefined;
    feed.consumer = undefined;
    messages?.stop();
    // An ordered consumer is ephemeral but would linger on the server until its inactivity limit; delete it now.
    await consumer?.delete().catch(() => undefined);
  }

  async stop(): Promise<void> {
    const feeds = [...this.#feeds.values()];
    this.#feeds.clear();
    await Promise.allSettled(feeds.map(async (feed) => {
      feed.closed = true;
      await feed.ready.catch(() => undefined);
      await this.#stopConsumer(feed);
    }));
  }
}
