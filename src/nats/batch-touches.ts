import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import type { JetStreamLayout } from "./layout.ts";
import type { Logger } from "../log.ts";

/**
 * The ingest batches a command touched, as they are touched (decision record 26). A touch mark is a
 * journal message, and so also a plain NATS message that every instance hears here, while the batch
 * being worked is attempting its deliveries one after another: each reads this before sending one, so
 * a cancel answered while its batch is on its way still stops the send. What was said while the
 * connection was away is not heard: `reconnects` tells the batch to read the mark from the stream again.
 */

/** Long enough for any batch to finish; a batch worked longer has long since read each mark. */
const REMEMBER_MS = 60 * 60_000;

export class BatchTouches {
  readonly #seen = new Map<string, number>();
  readonly #subscription: Subscription;
  #reconnects = 0;
  /** While the connection is away, nothing is heard. */
  #away = false;
  /** The subscription was refused (hookd's user lacks the permission): every batch must then read its journals. */
  #deaf = false;

  #stopped = false;

  constructor(
    private readonly nc: NatsConnection,
    layout: JetStreamLayout,
    private readonly now: () => number,
    private readonly log: Logger,
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
      if (status.type === "disconnect") this.#away = true;
      if (status.type === "reconnect") {
        this.#away = false;
        this.#reconnects++;
      }
    }
  }
}
