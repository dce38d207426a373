import { DeliverPolicy, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import { firstSeqAtOrAfter } from "../domain/stream-start.ts";
import { unavailable } from "./journal.ts";
import { eventOfMessage, type PublishedEvent } from "./topic-log.ts";
import type { JetStreamLayout } from "./layout.ts";

/**
 * Reading a stretch of the topic log for one listener: the messages of a filter after one
 * sequence up to another, at the listener's pace, through its own ordered pull consumer (deleted
 * when done).
 */
export class TopicCatchUp {
  constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    /** The most a catch-up pulls ahead of its listener: at least one message, at most about the listener's buffer. */
    private readonly prefetchBytes: number,
    private readonly layout: JetStreamLayout,
  ) {}

  /** The log's last sequence. */
  async lastSeq(): Promise<number> {
    const { state } = await this.jsm.streams.info(this.layout.streams.topics).catch(unavailable);
    return state.last_seq;
  }

  /** The sequence just before the first message stored at or after `at`. */
  async seqBefore(at: number): Promise<number> {
    const { state } = await this.jsm.streams.info(this.layout.streams.topics).catch(unavailable);
    if (state.messages === 0) return state.last_seq;
    const first = await firstSeqAtOrAfter(at, state.first_seq, state.last_seq, async (seq) => {
      // null is "no such message" (aged out); an error is NATS trouble, and guessing would skip real messages.
      const message = await this.jsm.direct.getMessage(this.layout.streams.topics, { seq }).catch(unavailable);
      return message ? message.time.getTime() : null;
    });
    return first - 1;
  }

  /**
   * Hands `onEvent` each message of `filter` with `after < seq`, stopping once it has passed
   * `upTo` (later ones may come too; the caller drops what it has already sent). `onEvent` may
   * wait, which holds the catch-up; an aborted signal ends it.
   */
  async run(
    filter: string,
    after: number,
    upTo: number,
    onEvent: (event: PublishedEvent) => Promise<void> | void,
    signal: AbortSignal,
  ): Promise<void> {
    if (after >= upTo) return;
    // Direct get finds the first message of the filter, so an empty stretch costs no consumer.
    const stream = this.layout.streams.topics;
    const first = await this.jsm.direct.getMessage(stream, { seq: after + 1, next_by_subj: filter }).catch(unavailable);
    if (!first || first.seq > upTo || signal.aborted) return;
    const consumer = await this.js.consumers
      .get(stream, { filter_subjects: filter, deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: first.seq })
      .catch(unavailable);
    // Pulled by bytes, not by count: a count of large messages waiting on a slow listener would be unbounded memory.
    const messages = await consumer.consume({ max_bytes: this.prefetchBytes });
    const stop = () => messages.stop();
    signal.addEventListener("abort", stop, { once: true });
    try {
      for await (const message of messages) {
        if (signal.aborted) break;
        await onEvent(eventOfMessage(message, this.layout));
        if (message.seq >= upTo || message.info.pending === 0) break;
      }
    } finally {
      signal.removeEventListener("abort", stop);
      messages.stop();
      await consumer.delete().catch(() => undefined);
    }
  }
}
