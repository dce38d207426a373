import { type ChangeFilter, type DeliveryChange, matchesChange } from "../domain/delivery-changes.ts";
import type { StreamEnd } from "../domain/stream-frames.ts";
import type { Logger } from "../log.ts";
import type { ChangeAttachment, DeliveryChangeFeed } from "../nats/delivery-change-feed.ts";

/**
 * One listener of the change feed: it catches up from where it resumes, then takes the shared feed's
 * changes, keeping those its filter wants. Its output's buffer is bounded: a listener that cannot keep
 * up is ended with its last id (to resume from), and nobody else waits for it.
 */

/** Where a listener's changes go: an SSE response, or the console's own rendering. */
export type ChangeOutput = {
  /** Changes this listener wants, in journal order. */
  send(changes: readonly DeliveryChange[]): void;
  /** Bytes (or whatever unit `bufferLimit` is in) sent and not yet taken by the client. */
  buffered(): number;
  /** Nothing to send for a while: keep the connection alive, saying where the listener is now. */
  heartbeat(position: number): void;
  /** hookd ends the stream, telling the client why and where to resume. */
  end(end: StreamEnd): void;
};

export type ChangeListenerSpec = {
  filter: ChangeFilter;
  /** Resume after this journal sequence; null starts at the live end. */
  after: number | null;
  bufferLimit: number;
  /** How long a catch-up waits for a full buffer to drain before ending the listener. */
  stallMs: number;
};

/** Live changes held while a catch-up runs; past this the listener is too far behind and resumes later. */
const MAX_HELD = 10_000;

export class ChangeListener {
  #position = 0;
  #live = false;
  #held: DeliveryChange[] = [];
  #attachment: ChangeAttachment | null = null;
  readonly #abort = new AbortController();
  #closed = false;

  constructor(
    private readonly deps: { feed: DeliveryChangeFeed; log: Logger },
    private readonly spec: ChangeListenerSpec,
    private readonly output: ChangeOutput,
    private readonly onClose: (end: StreamEnd | undefined) => void,
  ) {}

  /** The journal sequence this listener has seen everything up to: its Last-Event-ID. */
  get position(): number {
    return this.#position;
  }

  get closed(): boolean {
    return this.#closed;
  }

  heartbeat(): void {
    if (!this.#closed && this.output.buffered() === 0) this.output.heartbeat(this.#position);
  }

  /** Joins the feed; NATS errors here come before anything was sent, so the caller can still answer with one. */
  async attach(): Promise<void> {
    const attachment = await this.deps.feed.attach({
      deliver: (changes) => this.#onLive(changes),
      lost: () => this.close({ reason: "interrupted", lastSeq: this.#position }),
    });
    if (this.#closed) return attachment.detach();
    this.#attachment = attachment;
    const after = this.spec.after;
    // An id past the journal's end means a new NATS store whose sequences start over: start from now.
    this.#position = after === null || after > attachment.coveredUpTo ? attachment.coveredUpTo : after;
  }

  /** Catches up on what the listener missed, then goes live. */
  async catchUp(): Promise<void> {
    const upTo = this.#attachment?.coveredUpTo ?? 0;
    try {
      await this.deps.feed.catchUp(this.#position, upTo, (changes) => this.#catchUpOne(changes), this.#abort.signal);
    } catch (error) {
      if (this.#closed) return;
      this.deps.log.warn({ err: error }, "a change stream's catch-up failed; ending it so the listener resumes");
      return this.close({ reason: "interrupted", lastSeq: this.#position });
    }
    if (this.#closed) return;
    const held = this.#held;
    this.#held = [];
    this.#live = true;
    if (held.length > 0) this.#onLive(held);
  }

  async #catchUpOne(changes: DeliveryChange[]): Promise<void> {
    if (this.#closed || changes[0]!.seq <= this.#position) return;
    if (this.output.buffered() > this.spec.bufferLimit / 2) {
      const deadline = Date.now() + this.spec.stallMs;
      while (this.output.buffered() > this.spec.bufferLimit / 2 && !this.#closed) {
        if (Date.now() > deadline) return this.close({ reason: "slow-consumer", lastSeq: this.#position });
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      if (this.#closed) return;
    }
    this.#send(changes);
  }

  #onLive(changes: readonly DeliveryChange[]): void {
    if (this.#closed) return;
    if (!this.#live) {
      for (const change of changes) this.#held.push(change);
      if (this.#held.length > MAX_HELD) this.close({ reason: "slow-consumer", lastSeq: this.#position });
      return;
    }
    // A slow client is ended, not waited for: the feed and every other listener go on.
    if (this.output.buffered() > this.spec.bufferLimit) {
      return this.close({ reason: "slow-consumer", lastSeq: this.#position });
    }
    this.#send(changes);
  }

  #send(changes: readonly DeliveryChange[]): void {
    const fresh = changes.filter((change) => change.seq > this.#position && matchesChange(this.spec.filter, change));
    if (fresh.length > 0) this.output.send(fresh);
    this.#position = Math.max(this.#position, changes.at(-1)!.seq);
  }

  /** Ends the listener: with `end`, hookd tells the client why; without, the client went away. */
  close(end?: StreamEnd): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#abort.abort();
    this.#attachment?.detach();
    this.#held = [];
    if (end) this.output.end(end);
    this.onClose(end);
  }
}
