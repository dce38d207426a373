import type { ChangeFilter } from "../domain/delivery-changes.ts";
import type { Logger } from "../log.ts";
import type { DeliveryChangeFeed } from "../nats/delivery-change-feed.ts";
import { ChangeListener, type ChangeOutput } from "./change-listener.ts";
import { TokenSlots } from "./token-slots.ts";
import { unrefTimer } from "../unref-timer.ts";

/**
 * Every change stream this instance serves (`GET /api/v1/deliveries/changes`, the console's live
 * views): they all read the one shared change feed, each through its own bounded buffer. This opens
 * them, sends their heartbeats, and ends them when hookd stops.
 */

export type ChangeStreamsOptions = {
  feed: DeliveryChangeFeed;
  log: Logger;
  /** The most a listener may hold unread (HOOKD_STREAM_BUFFER). */
  bufferBytes: number;
  heartbeatMs: number;
  /** Change streams one token may hold open at once (HOOKD_STREAM_MAX_PER_TOKEN). */
  maxPerToken: number;
  stallMs?: number;
};

export class ChangeStreams {
  readonly #listeners = new Set<ChangeListener>();
  readonly #slots: TokenSlots;
  readonly #heartbeat: ReturnType<typeof setInterval>;
  #closing = false;

  constructor(private readonly options: ChangeStreamsOptions) {
    this.#slots = new TokenSlots(options.maxPerToken);
    this.#heartbeat = unrefTimer(setInterval(() => {
      for (const listener of this.#listeners) listener.heartbeat();
    }, options.heartbeatMs));
  }

  get count(): number {
    return this.#listeners.size;
  }

  get bufferBytes(): number {
    return this.options.bufferBytes;
  }

  /**
   * Opens a listener of the changes `filter` wants, resuming after journal sequence `after` (null: from
   * now), and joins the feed; throws NATS errors before anything was sent. Call `catchUp()` once the
   * output is ready. `signal` ends the listener when the client goes. With a `token`, at most
   * `maxPerToken` streams per token (TooManyStreamsError); the console's own calls pass none.
   */
  async open(
    spec: { filter: ChangeFilter; after: number | null; token?: string },
    output: ChangeOutput,
    signal?: AbortSignal,
  ): Promise<ChangeListener> {
    const release = spec.token === undefined ? () => undefined : this.#slots.hold(spec.token);
    const listener: ChangeListener = new ChangeListener(
      { feed: this.options.feed, log: this.options.log },
      { ...spec, bufferLimit: this.options.bufferBytes, stallMs: this.options.stallMs ?? 30_000 },
      output,
      () => {
        signal?.removeEventListener("abort", close);
        this.#listeners.delete(listener);
        release();
      },
    );
    const close = () => listener.close();
    this.#listeners.add(listener);
    if (signal?.aborted) close();
    else signal?.addEventListener("abort", close, { once: true });
    try {
      await listener.attach();
    } catch (error) {
      listener.close();
      throw error;
    }
    if (this.#closing) listener.close({ reason: "shutting-down", lastSeq: listener.position });
    return listener;
  }

  /** Takes one of the token's slots; returns how to give it back (once). */

  /** Ends every change stream with a reason, so clients resume (here after a restart, or elsewhere). */
  closeAll(): void {
    clearInterval(this.#heartbeat);
    this.#closing = true;
    for (const listener of [...this.#listeners]) {
      listener.close({ reason: "shutting-down", lastSeq: listener.position });
    }
  }
}
