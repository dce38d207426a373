import { parseRevocableToken } from "../domain/revocable-tokens.ts";
import type { StreamEnd } from "../domain/stream-frames.ts";
import type { StreamStart } from "../domain/stream-start.ts";
import type { TopicNamespace, TopicPattern } from "../domain/topic-name.ts";
import type { Logger } from "../log.ts";
import type { JetStreamLayout } from "../nats/layout.ts";
import type { TopicFeeds } from "../nats/topic-feeds.ts";
import type { TopicCatchUp } from "../nats/topic-catch-up.ts";
import { type StreamSink, TopicListener } from "./topic-listener.ts";
import { TokenSlots } from "./token-slots.ts";
import { unrefTimer } from "../unref-timer.ts";

/**
 * Every topic stream this instance serves: it opens listeners, counts them per token (a token may
 * hold a bounded number at once), sends heartbeats, ends a revocable token's streams when it is
 * revoked or expires, and ends them all when hookd stops.
 */

export type TopicStreamsOptions = {
  feeds: TopicFeeds;
  catchUp: TopicCatchUp;
  layout: JetStreamLayout;
  log: Logger;
  bufferBytes: number;
  heartbeatMs: number;
  maxPerToken: number;
  stallMs?: number;
  /** Told each time hookd ends a stream itself, with the reason. */
  onEnded?: (reason: StreamEnd["reason"]) => void;
  clock?: () => number;
};

/** setTimeout's longest delay; a token expiring later is looked at again then. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class TopicStreams {
  readonly #listeners = new Set<TopicListener>();
  readonly #slots: TokenSlots;
  /** The open streams of each revocable token, by token id, so a revocation ends them. */
  readonly #byTokenId = new Map<string, Set<TopicListener>>();
  #isRevoked: (id: string) => boolean = () => false;
  readonly #heartbeat: ReturnType<typeof setInterval>;
  #closing = false;

  constructor(private readonly options: TopicStreamsOptions) {
    this.#slots = new TokenSlots(options.maxPerToken);
    this.#heartbeat = unrefTimer(setInterval(() => {
      for (const listener of this.#listeners) listener.heartbeat();
    }, options.heartbeatMs));
  }

  get count(): number {
    return this.#listeners.size;
  }

  /** The most a stream may hold unread for its listener (HOOKD_STREAM_BUFFER). */
  get bufferBytes(): number {
    return this.options.bufferBytes;
  }

  get feedCount(): number {
    return this.options.feeds.size;
  }

  /**
   * Opens a listener on a topic pattern for the holder of `token` and joins the live feed; throws
   * TooManyStreamsError, or NATS errors before anything was sent. Call `catchUp()` once the
   * transport is ready to send. The slot is given back exactly once, whichever way the stream ends:
   * the listener is closed when `connection` aborts (the client went, even before the stream
   * started), and the connection is no longer watched once the listener is closed.
   */
  async open(
    spec: { pattern: TopicPattern; namespace: TopicNamespace; start: StreamStart; token: string },
    sink: StreamSink,
    connection?: { signal: AbortSignal; dispose(): void },
  ): Promise<TopicListener> {
    let releaseSlot: () => void;
    try {
      releaseSlot = this.#slots.hold(spec.token);
    } catch (error) {
      connection?.dispose();
      throw error;
    }
    const filter = this.options.layout.subjects.topicFilter(spec.pattern, spec.namespace);
    const listener: TopicListener = new TopicListener(
      this.options,
      { filter, start: spec.start, bufferBytes: this.options.bufferBytes, stallMs: this.options.stallMs ?? 30_000 },
      sink,
      (end) => {
        unwatch();
        connection?.signal.removeEventListener("abort", release);
        connection?.dispose();
        if (end) this.options.onEnded?.(end.reason);
        this.#listeners.delete(listener);
        releaseSlot();
      },
    );
    const release = () => listener.close();
    const unwatch = this.#watchToken(spec.token, listener);
    this.#listeners.add(listener);
    if (connection?.signal.aborted) release();
    else connection?.signal.addEventListener("abort", release, { once: true });
    try {
      await listener.attach();
    } catch (error) {
      listener.close();
      throw error;
    }
    // Opened while hookd was stopping: closeAll has already passed, so end it here.
    if (this.#closing) listener.close({ reason: "shutting-down", lastSeq: listener.lastSeq });
    return listener;
  }

  /** Ends the streams of each token `revocations` revokes from now on, and refuses to keep one it already has. */
  followRevocations(revocations: { has(id: string): boolean; onRevoked(callback: (id: string) => void): void }): void {
    this.#isRevoked = (id) => revocations.has(id);
    revocations.onRevoked((id) => this.endForToken(id));
  }

  /** Ends every stream opened with the revocable token `id` (it was just revoked, here or on another instance). */
  endForToken(id: string): void {
    for (const listener of this.#byTokenId.get(id) ?? []) {
      listener.close({ reason: "token-revoked", lastSeq: listener.lastSeq });
    }
  }

  /** Keeps track of a revocable token's stream: found by the token's id, ended when the token expires. */
  #watchToken(token: string, listener: TopicListener): () => void {
    const parsed = parseRevocableToken(token);
    if (!parsed) return () => {};
    const held = this.#byTokenId.get(parsed.id) ?? new Set<TopicListener>();
    held.add(listener);
    this.#byTokenId.set(parsed.id, held);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const clock = this.options.clock ?? Date.now;
    const arm = (expiresAt: number) => {
      timer = setTimeout(() => {
        if (clock() < expiresAt) return arm(expiresAt);
        listener.close({ reason: "token-expired", lastSeq: listener.lastSeq });
      }, Math.min(Math.max(0, expiresAt - clock()), MAX_TIMER_MS));
    };
    if (parsed.expiresAt !== null) arm(parsed.expiresAt);
    // Revoked between the request's token check and here: the revocation's callback has already run.
    if (this.#isRevoked(parsed.id)) {
      queueMicrotask(() => listener.close({ reason: "token-revoked", lastSeq: listener.lastSeq }));
    }
    return () => {
      clearTimeout(timer);
      held.delete(listener);
      if (held.size === 0) this.#byTokenId.delete(parsed.id);
    };
  }

  /**
   * Ends every stream with a reason, so listeners reconnect (here after a restart, or elsewhere), and
   * waits up to `flushMs` for them to take that last frame.
   */
  async closeAll(flushMs = 2_000): Promise<void> {
    clearInterval(this.#heartbeat);
    this.#closing = true;
    const listeners = [...this.#listeners];
    for (const listener of listeners) listener.close({ reason: "shutting-down", lastSeq: listener.lastSeq });
    await Promise.all(listeners.map((listener) => listener.flushed(flushMs)));
  }
}
