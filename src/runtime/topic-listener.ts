import type { StreamEnd } from "../domain/stream-frames.ts";
import type { StreamStart } from "../domain/stream-start.ts";
import type { Logger } from "../log.ts";
import type { FeedAttachment, TopicFeeds } from "../nats/topic-feeds.ts";
import type { PublishedEvent } from "../nats/topic-log.ts";
import type { TopicCatchUp } from "../nats/topic-catch-up.ts";

/**
 * One listener of a topic stream (SSE, WebSocket or /stream): it catches up on the log from where the
 * listener resumes, then splices onto the shared live feed without a gap or a duplicate, and keeps
 * its buffer bounded: a listener that cannot keep up is cut off, told its last id, and resumes.
 */

/** The transport's end of a stream; it encodes and buffers. */
export type StreamSink = {
  /** Messages in order; a transport may write them as one chunk. */
  send(events: readonly PublishedEvent[]): void;
  /** Bytes sent here that the network has not taken yet. */
  buffered(): number;
  /** True once buffered() is at most `bytes`; false if that did not happen within `timeoutMs`. */
  drained(bytes: number, timeoutMs: number): Promise<boolean>;
  heartbeat(): void;
  /** hookd ends the stream, telling the listener why and where to resume. */
  end(end: StreamEnd): void;
};

export type ListenerSpec = {
  filter: string;
  start: StreamStart;
  bufferBytes: number;
  /** How long a catch-up waits for a full buffer to drain before cutting the listener off. */
  stallMs: number;
};

export class TopicListener {
  #lastSent = 0;
  #live = false;
  #pending: PublishedEvent[] = [];
  #pendingBytes = 0;
  #attachment: FeedAttachment | null = null;
  readonly #abort = new AbortController();
  #closed = false;
  readonly #onClose: (end: StreamEnd | undefined) => void;

  constructor(
    private readonly deps: { feeds: TopicFeeds; catchUp: TopicCatchUp; log: Logger },
    private readonly spec: ListenerSpec,
    private readonly sink: StreamSink,
    onClose: (end: StreamEnd | undefined) => void,
  ) {
    this.#onClose = onClose;
  }

  get lastSeq(): number {
    return this.#lastSent;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Resolves once the client has taken everything sent (or `timeoutMs` passed). */
  async flushed(timeoutMs: number): Promise<void> {
    await this.sink.drained(0, timeoutMs);
  }

  heartbeat(): void {
    if (!this.#closed && this.sink.buffered() === 0) this.sink.heartbeat();
  }

  /**
   * Finds the starting point and joins the live feed. Errors here (NATS away) come before anything
   * was sent, so the caller can still answer with an error.
   */
  async attach(): Promise<void> {
    const { start, filter } = this.spec;
    const after = start.kind === "after-seq"
      ? start.seq
      : start.kind === "at-time"
      ? await this.deps.catchUp.seqBefore(start.at)
      : null;
    const attachment = await this.deps.feeds.attach(filter, {
      deliver: (events) => this.#onLive(events),
      lost: () => this.close({ reason: "interrupted", lastSeq: this.#lastSent }),
    });
    if (this.#closed) {
      attachment.detach();
      return;
    }
    this.#attachment = attachment;
    this.#lastSent = after ?? attachment.coveredUpTo;
    // An id past the end of the log means the log was reset (a new NATS store): its sequences start
    // over, so waiting for them to pass the old id would drop everything new. Start from now instead.
    if (after !== null && after > attachment.coveredUpTo && after > (await this.deps.catchUp.lastSeq())) {
      this.#lastSent = attachment.coveredUpTo;
    }
  }

  /** Catches the listener up on what it missed, then goes live. Resolves when it is live (or closed). */
  async catchUp(): Promise<void> {
    const upTo = this.#attachment?.coveredUpTo ?? 0;
    try {
      if (this.#lastSent < upTo) {
        await this.deps.catchUp.run(
          this.spec.filter,
          this.#lastSent,
          upTo,
          (event) => this.#catchUpOne(event),
          this.#abort.signal,
        );
      }
    } catch (error) {
      if (this.#closed) return;
      this.deps.log.warn(
        { err: error, filter: this.spec.filter },
        "a stream's catch-up failed; ending it so the listener resumes",
      );
      this.close({ reason: "interrupted", lastSeq: this.#lastSent });
      return;
    }
    if (this.#closed) return;
    const pending = this.#pending;
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#live = true;
    if (pending.length > 0) this.#onLive(pending);
  }

  async #catchUpOne(event: PublishedEvent): Promise<void> {
    if (this.#closed || event.seq <= this.#lastSent) return;
    if (this.sink.buffered() > this.spec.bufferBytes / 2) {
      // Catch-up goes at the listener's pace; only one that stops reading altogether is cut off.
      const drained = await this.sink.drained(this.spec.bufferBytes / 2, this.spec.stallMs);
      if (!drained) this.close({ reason: "slow-consumer", lastSeq: this.#lastSent });
      if (this.#closed) return;
    }
    this.sink.send([event]);
    this.#lastSent = event.seq;
  }

  #onLive(events: readonly PublishedEvent[]): void {
    if (this.#closed) return;
    if (!this.#live) {
      // Held while the catch-up runs; bounded like the sink, since a long catch-up must not grow memory.
      for (const event of events) {
        this.#pending.push(event);
        this.#pendingBytes += event.body.length;
      }
      if (this.#pendingBytes > this.spec.bufferBytes) this.close({ reason: "slow-consumer", lastSeq: this.#lastSent });
      return;
    }
    // Usually all are new, and the very array every listener got is passed on, so its encoding is shared.
    const fresh = events[0]!.seq > this.#lastSent ? events : events.filter((event) => event.seq > this.#lastSent);
    if (fresh.length === 0) return;
    let size = 0;
    for (const event of fresh) size += event.body.length;
    const buffered = this.sink.buffered();
    if (buffered > 0 && buffered + size > this.spec.bufferBytes) {
      this.close({ reason: "slow-consumer", lastSeq: this.#lastSent });
      return;
    }
    this.sink.send(fresh);
    this.#lastSent = fresh[fresh.length - 1]!.seq;
  }

  /** Ends the listener: with `end`, hookd tells it why; without, the client went away. */
  close(end?: StreamEnd): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#abort.abort();
    this.#attachment?.detach();
    this.#pending = [];
    if (end) this.sink.end(end);
    this.#onClose(end);
  }
}
