import {
  type ConsumerMessages,
  DeliverPolicy,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  type PushConsumer,
} from "@nats-io/jetstream";
import type { DeliveryChange } from "../domain/delivery-changes.ts";
import { firstSeqAtOrAfter } from "../domain/stream-start.ts";
import type { Logger } from "../log.ts";
import { changesOfMessage } from "./delivery-change-headers.ts";
import { endOfTurn } from "./end-of-turn.ts";
import { NatsUnavailableError, unavailable } from "./journal.ts";
import type { JetStreamLayout } from "./layout.ts";
import { unrefTimer } from "../unref-timer.ts";

/**
 * The journal's deliveries as a live feed of changes: one ordered push consumer per instance on
 * every delivery journal subject, headers only, shared by every reader here (the change streams
 * the console and the API open, the fleet statistics). Readers get each turn's changes together;
 * what a reader does with them (filter, encode, buffer) is its own business, so a slow reader costs
 * NATS nothing. A reader resuming from an older sequence catches up on the journal through its own
 * short-lived ordered pull consumer, headers only as well.
 */

export type ChangeReader = {
  /** The changes that arrived in one turn, in journal order. */
  deliver(changes: readonly DeliveryChange[]): void;
  /** The feed stopped for good (its consumer gave up after a long NATS outage); the reader must end. */
  lost(): void;
};

export type ChangeAttachment = {
  /** Every change up to this journal sequence came before the reader attached; every later one reaches it live. */
  coveredUpTo: number;
  detach(): void;
};

/** How many messages a catch-up pulls ahead of its reader; headers-only messages are a few hundred bytes. */
const CATCH_UP_BATCH = 500;
/** How long the feed waits before opening again after its consumer gave up or could not start. */
const REOPEN_MS = 5_000;

export class DeliveryChangeFeed {
  readonly #readers = new Set<ChangeReader>();
  #batch: DeliveryChange[] = [];
  #delivered = 0;
  #ready: Promise<void> | null = null;
  #consumer: PushConsumer | null = null;
  #messages: ConsumerMessages | null = null;
  #stopped = false;

  constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly log: Logger,
    private readonly layout: JetStreamLayout,
  ) {}

  /** The journal sequence of the last change handed out (or the journal's end when the feed started). */
  get position(): number {
    return this.#delivered;
  }

  get readers(): number {
    return this.#readers.size;
  }

  /**
   * Starts the feed. `backfill` first gets the journal's changes since `sinceMs` (the fleet
   * statistics' window), read before the feed goes live so nothing falls between the two.
   */
  start(backfill?: { sinceMs: number; reader: ChangeReader }): Promise<void> {
    this.#ready ??= this.#open(backfill).catch((error) => {
      this.#ready = null;
      // The backfill's reader (the fleet figures) keeps counting from whenever the feed opens again.
      if (backfill) this.#readers.add(backfill.reader);
      this.#reopenLater();
      throw error instanceof NatsUnavailableError ? error : new NatsUnavailableError(error);
    });
    return this.#ready;
  }

  /** Readers that stay (the fleet figures) need the feed open even when no stream asks for it. */
  #reopenLater(): void {
    unrefTimer(setTimeout(() => {
      if (!this.#stopped && this.#ready === null) void this.start().catch(() => undefined);
    }, REOPEN_MS));
  }

  async attach(reader: ChangeReader): Promise<ChangeAttachment> {
    await this.start();
    // No await between reading the position and joining: the next change handed out is the reader's first live one.
    this.#readers.add(reader);
    let attached = true;
    return {
      coveredUpTo: this.#delivered,
      detach: () => {
        if (!attached) return;
        attached = false;
        this.#readers.delete(reader);
      },
    };
  }

  /**
   * Adds a reader that first gets the journal's changes since `sinceMs`, then every live one, with
   * none missed or repeated between the two: live changes wait in a buffer while the past is read.
   * For a reader that joins a feed already open (the fleet figures, first asked for after a change
   * stream opened the feed).
   */
  async attachSince(sinceMs: number, reader: ChangeReader): Promise<ChangeAttachment> {
    return await this.#attachFrom(() => this.seqBefore(sinceMs), reader);
  }

  /** The same from a journal sequence: changes after `afterSeq`, then live ones (a page resuming). */
  async attachAfter(afterSeq: number, reader: ChangeReader): Promise<ChangeAttachment> {
    return await this.#attachFrom(() => Promise.resolve(afterSeq), reader);
  }

  async #attachFrom(after: () => Promise<number>, reader: ChangeReader): Promise<ChangeAttachment> {
    await this.start();
    let buffered: DeliveryChange[] | null = [];
    const joining: ChangeReader = {
      deliver: (changes) => (buffered ? buffered.push(...changes) : reader.deliver(changes)),
      lost: () => reader.lost(),
    };
    // No await between reading the position and joining: the buffer starts right after it.
    const upTo = this.#delivered;
    this.#readers.add(joining);
    const detach = () => void this.#readers.delete(joining);
    try {
      await this.catchUp(await after(), upTo, (changes) => {
        const past = changes.filter((change) => change.seq <= upTo);
        if (past.length > 0) reader.deliver(past);
      }, new AbortController().signal);
    } catch (error) {
      // Nothing of it stays: a second try must not count the live changes twice.
      detach();
      throw error;
    }
    const live = buffered;
    buffered = null;
    if (live.length > 0) reader.deliver(live);
    return { coveredUpTo: upTo, detach };
  }

  async #open(backfill?: { sinceMs: number; reader: ChangeReader }): Promise<void> {
    const stream = this.layout.streams.journal;
    const { state } = await this.jsm.streams.info(stream);
    if (backfill) {
      const after = await this.seqBefore(backfill.sinceMs);
      await this.catchUp(
        after,
        state.last_seq,
        (changes) => backfill.reader.deliver(changes),
        new AbortController().signal,
      );
      this.#readers.add(backfill.reader);
    }
    this.#delivered = state.last_seq;
    const consumer = await this.js.consumers.getPushConsumer(stream, {
      filter_subjects: this.layout.subjects.allDeliveryJournals,
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: state.last_seq + 1,
      headers_only: true,
    });
    this.#consumer = consumer;
    const messages = await consumer.consume({ callback: (message) => this.#take(message) });
    this.#messages = messages;
    void messages.closed().then((error) => {
      if (this.#stopped) return;
      this.log.warn({ err: error }, "the journal's change feed stopped; ending its readers, opening it again");
      this.#ready = null;
      for (const reader of [...this.#readers]) reader.lost();
      this.#reopenLater();
    });
  }

  #take(message: JsMsg): void {
    const changes = this.#changesOf(message);
    this.#delivered = message.seq;
    if (changes.length === 0) return;
    if (this.#batch.length === 0) endOfTurn(() => this.#handOut());
    for (const change of changes) this.#batch.push(change);
  }

  #changesOf(message: JsMsg): DeliveryChange[] {
    const parsed = this.layout.parseSubject(message.subject);
    if (parsed?.kind !== "delivery-created" && parsed?.kind !== "delivery-transitions") return [];
    return changesOfMessage({
      kind: parsed.kind,
      id: parsed.id,
      seq: message.seq,
      time: message.time,
      header: (name) => message.headers?.get(name),
    });
  }

  #handOut(): void {
    const changes = this.#batch;
    this.#batch = [];
    // nats.js stops a consumer whose callback throws; one reader's bug must not end everyone's feed.
    for (const reader of this.#readers) {
      try {
        reader.deliver(changes);
      } catch (error) {
        this.log.error({ err: error }, "a change reader failed on a change");
      }
    }
  }

  /** The journal sequence just before the first message stored at or after `at`. */
  async seqBefore(at: number): Promise<number> {
    const stream = this.layout.streams.journal;
    const { state } = await this.jsm.streams.info(stream).catch(unavailable);
    if (state.messages === 0) return state.last_seq;
    const first = await firstSeqAtOrAfter(at, state.first_seq, state.last_seq, async (seq) => {
      const message = await this.jsm.direct.getMessage(stream, { seq }).catch(unavailable);
      return message ? message.time.getTime() : null;
    });
    return first - 1;
  }

  /**
   * Hands `onChanges` the changes of each journal message with `after < seq <= upTo` (a few more may
   * follow; the caller drops what it has), one message at a time. `onChanges` may wait, which holds
   * the catch-up; an aborted signal ends it.
   */
  async catchUp(
    after: number,
    upTo: number,
    onChanges: (changes: DeliveryChange[]) => Promise<void> | void,
    signal: AbortSignal,
  ): Promise<void> {
    if (after >= upTo) return;
    const stream = this.layout.streams.journal;
    const filter = this.layout.subjects.allDeliveryJournals;
    const first = await this.jsm.direct.getMessage(stream, { seq: after + 1, next_by_subj: filter }).catch(unavailable);
    if (!first || first.seq > upTo || signal.aborted) return;
    const consumer = await this.js.consumers.get(stream, {
      filter_subjects: filter,
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: first.seq,
      headers_only: true,
    }).catch(unavailable);
    const messages = await consumer.consume({ max_messages: CATCH_UP_BATCH });
    const stop = () => messages.stop();
    signal.addEventListener("abort", stop, { once: true });
    try {
      for await (const message of messages) {
        if (signal.aborted) break;
        const changes = this.#changesOf(message);
        if (changes.length > 0) await onChanges(changes);
        if (message.seq >= upTo || message.info.pending === 0) break;
      }
    } finally {
      signal.removeEventListener("abort", stop);
      messages.stop();
      await consumer.delete().catch(() => undefined);
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#readers.clear();
    await this.#ready?.catch(() => undefined);
    this.#messages?.stop();
    await this.#consumer?.delete().catch(() => undefined);
  }
}
