import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import type { JetStreamLayout } from "./layout.ts";
import type { Logger } from "../log.ts";
import { unrefTimer } from "../unref-timer.ts";

/**
 * The ingest batches a command touched, as they are touched (decision record 26). A touch mark is a
 * journal message, and so also a plain NATS message that every instance hears here, while the batch
 * being worked is attempting its deliveries one after another: each reads this before sending one, so
 * a cancel answered while its batch is on its way still stops the send. What was said while the
 * connection was away is not heard: `reconnects` tells the batch to read the mark from the stream again.
 * A batch stored after this instance was listening has every touch of it heard here (a touch names a
 * delivery its 202 named, so it comes after the batch), and needs no read of its mark before its first
 * attempt: `hearsEveryTouchOf` says which, by the batch's sequence in the ingest stream (decision record 35).
 */

/** Long enough for any batch to finish; a batch worked longer has long since read each mark. */
const REMEMBER_MS = 60 * 60_000;
/** How soon a failed read of where listening began is tried again. */
const LISTENING_RETRY_MS = 1_000;

export class BatchTouches {
  readonly #seen = new Map<string, number>();
  readonly #subscription: Subscription;
  #reconnects = 0;
  /** While the connection is away, nothing is heard. */
  #away = false;
  /** The subscription was refused (hookd's user lacks the permission): every batch must then read its journals. */
  #deaf = false;

  #stopped = false;
  /**
   * The ingest stream's last sequence, read once the server had this subscription: every touch of a batch
   * stored after it is heard here. Null until read, and from a disconnect until read again.
   */
  #listeningAfter: number | null = null;

  constructor(
    private readonly nc: NatsConnection,
    layout: JetStreamLayout,
    private readonly now: () => number,
    private readonly log: Logger,
    private readonly lastIngestSeq: () => Promise<number>,
    /**
     * Whether this instance and every other one talk to this one nats-server. Across servers (a
     * cluster's routes, a leaf node's link) a mark published while a link was down is never passed on,
     * and this connection sees no disconnect: there, every batch reads its mark.
     */
    private readonly oneServer: () => boolean,
  ) {
    this.#subscription = nc.subscribe(layout.subjects.allIngestBatchTouches, {
      callback: (error, message) => {
        if (error) {
          if (!this.#deaf) {
            this.log.warn(
              { err: error },
              "cannot hear touch marks on ingest batches; every batch reads its journals first",
            );
          }
          this.#deaf = true;
          return;
        }
        const parsed = layout.parseSubject(message.subject);
        if (parsed?.kind === "ingest-batch-touched") this.#remember(parsed.key);
      },
    });
    void this.#followConnection();
    void this.#markListening(0);
  }

  /**
   * Whether every touch of the batch stored at this ingest sequence, accepted at `acceptedAtMs`, is heard
   * here and still remembered (its mark need not be read). A touch is remembered REMEMBER_MS from when it
   * was heard, and comes after the batch was accepted: a batch younger than half that has all of its
   * touches remembered, with half an hour left for the clocks of the instances that accepted it and
   * that touched it.
   */
  hearsEveryTouchOf(batchSeq: number, acceptedAtMs: number): boolean {
    return !this.#deaf && !this.#away && this.#listeningAfter !== null && batchSeq > this.#listeningAfter &&
      this.now() - acceptedAtMs < REMEMBER_MS / 2;
  }

  /** Whether this instance heard a touch of the batch, or cannot hear touches now. */
  touched(key: string): boolean {
    return this.#deaf || this.#away || this.#seen.has(key);
  }

  /** Changes each time the connection comes back: a touch said meanwhile was not heard. */
  get reconnects(): number {
    return this.#reconnects;
  }

  stop(): void {
    this.#stopped = true;
    this.#subscription.unsubscribe();
  }

  #remember(key: string): void {
    const now = this.now();
    // Delete first, so the key moves to the end: the map stays in the order of the last touch.
    this.#seen.delete(key);
    this.#seen.set(key, now);
    // Oldest first (insertion order): forget those no batch can still be working on.
    for (const [old, at] of this.#seen) {
      if (now - at < REMEMBER_MS) break;
      this.#seen.delete(old);
    }
  }

  async #followConnection(): Promise<void> {
    for await (const status of this.nc.status()) {
      if (this.#stopped) return;
      if (status.type === "disconnect") {
        this.#away = true;
        this.#listeningAfter = null;
      }
      if (status.type === "reconnect") {
        this.#away = false;
        this.#reconnects++;
        void this.#markListening(this.#reconnects);
      }
    }
  }

  /**
   * The flush's answer comes after the server took the subscription (the client sends it again before a
   * reconnect is reported), so a batch stored after the sequence read next is stored while listening.
   * Until that read succeeds (JetStream may still be recovering after a restart) every batch reads its mark.
   */
  async #markListening(reconnects: number): Promise<void> {
    for (let failures = 0; this.#reconnects === reconnects && !this.#stopped && !this.nc.isClosed(); failures++) {
      try {
        await this.nc.flush();
        if (!this.oneServer()) return;
        const seq = await this.lastIngestSeq();
        if (this.#reconnects === reconnects && !this.#away && !this.#stopped) this.#listeningAfter = seq;
        return;
      } catch (error) {
        if (failures === 0) {
          this.log.warn(
            { err: error },
            "cannot read where listening for touch marks began yet; batches read their marks",
          );
        }
        // Unref'd (on Node): the pause does not keep a stopping process alive.
        await new Promise((resolve) => unrefTimer(setTimeout(resolve, LISTENING_RETRY_MS)));
      }
    }
  }
}
