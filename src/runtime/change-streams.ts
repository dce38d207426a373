import type { ChangeFilter } from "../domain/delivery-changes.ts";
import type { Logger } from "../log.ts";
import type { DeliveryChangeFeed } from "../nats/delivery-change-feed.ts";
import { ChangeListener, type ChangeOutput } from "./change-listener.ts";

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
  stallMs?: number;
};

export class ChangeStreams {
  readonly #listeners = new Set<ChangeListener>();
  readonly #heartbeat: ReturnType<typeof setInterval>;
  #closing = false;

  constructor(private readonly options: ChangeStreamsOptions) {
    this.#heartbeat = setInterval(() => {
      for (const listener of this.#listeners) listener.heartbeat();
    }, options.heartbeatMs);
    (this.#heartbeat as { unref?: () => void }).unref?.();
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
   * output is ready. `signal` ends the listener when the client goes.
   */
  async open(
    spec: { filter: ChangeFilter; after: number | null },
    output: ChangeOutput,
    signal?: AbortSignal,
  ): Promise<ChangeListener> {
    const listener: ChangeListener = new ChangeListener(
      { feed: this.options.feed, log: this.options.log },
      { ...spec, bufferLimit: this.options.bufferBytes, stallMs: this.options.stallMs ?? 30_000 },
      output,
      () => {
        signal?.removeEventListener("abort", release);
        this.#listeners.delete(listener);
      },
    );
    const release = () => listener.close();
    this.#listeners.add(listener);
    if (signal?.aborted) release();
    else signal?.addEventListener("abort", release, { once: true });
    try {
      await listener.attach();
    } catch (error) {
      listener.close();
      throw error;
    }
    if (this.#closing) listener.close({ reason: "shutting-down", lastSeq: listener.position });
    return listener;
  }

  /** Ends every change stream with a reason, so clients resume (here after a restart, or elsewhere). */
  closeAll(): void {
    clearInterval(this.#heartbeat);
    this.#closing = true;
    for (const listener of [...this.#listeners]) {
      listener.close({ reason: "shutting-down", lastSeq: listener.position });
    }
  }
}
