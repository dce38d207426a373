import { DeliverPolicy, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import type { Logger } from "../log.ts";
import type { JetStreamPublisher } from "./jetstream-publisher.ts";
import type { JetStreamLayout } from "./layout.ts";

/**
 * Revoked token ids, shared through NATS (one message per id on the revocations stream) and kept in
 * memory here, so checking a token costs no round trip. Every instance reads the whole list at start
 * and follows it live through an ordered consumer, so a revocation reaches all of them within the
 * time NATS takes to push one message.
 */

const CATCH_UP_LIMIT_MS = 30_000;

export type RevocationRecord = { revoked_at: string; expires_at: string | null };

export class RevocationList {
  readonly #ids = new Set<string>();
  readonly #onRevoked: ((id: string) => void)[] = [];
  #stop: (() => void) | null = null;
  #log: Logger | null = null;

  constructor(
    private readonly deps: {
      js: JetStreamClient;
      jsm: JetStreamManager;
      publisher: JetStreamPublisher;
      layout: JetStreamLayout;
    },
  ) {}

  has(id: string): boolean {
    return this.#ids.has(id);
  }

  /** Calls `callback` with each id revoked from now on, here or on another instance. */
  onRevoked(callback: (id: string) => void): void {
    this.#onRevoked.push(callback);
  }

  #add(id: string): void {
    if (this.#ids.has(id)) return;
    this.#ids.add(id);
    for (const callback of this.#onRevoked) {
      // One failing listener must not stop this instance from learning later revocations.
      try {
        callback(id);
      } catch (error) {
        this.#log?.error({ err: error, tokenId: id }, "could not act on a token revocation");
      }
    }
  }

  /** Records the revocation in NATS; this instance refuses the token at once, the others once NATS pushes it. */
  async revoke(id: string, record: RevocationRecord): Promise<void> {
    await this.deps.publisher.publish(this.deps.layout.subjects.revocation(id), JSON.stringify(record));
    this.#add(id);
  }

  /** Reads every revocation so far, then follows new ones; resolves once the ones so far are in. */
  // Long: the catch-up signal, its time limit and the live loop share one consumer's state.
  async follow(log: Logger): Promise<void> {
    this.#log = log;
    const { streams, subjects } = this.deps.layout;
    const info = await this.deps.jsm.streams.info(streams.revocations);
    const lastSeq = info.state.messages === 0 ? 0 : info.state.last_seq;
    const consumer = await this.deps.js.consumers.get(streams.revocations, {
      filter_subjects: subjects.allRevocations,
      deliver_policy: DeliverPolicy.All,
    });
    const messages = await consumer.consume();
    this.#stop = () => messages.stop();
    let caughtUp!: () => void;
    const ready = new Promise<void>((resolve) => (caughtUp = resolve));
    if (lastSeq === 0) caughtUp();
    const limit = setTimeout(() => {
      log.warn({ revoked: this.#ids.size }, "not every token revocation was read at start; going on");
      caughtUp();
    }, CATCH_UP_LIMIT_MS);
    void ready.then(() => clearTimeout(limit));
    void (async () => {
      for await (const message of messages) {
        const parsed = this.deps.layout.parseSubject(message.subject);
        if (parsed?.kind === "revocation") this.#add(parsed.tokenId);
        if (message.seq >= lastSeq) caughtUp();
      }
    })().catch((error: unknown) => {
      // The ordered consumer recovers from reconnects by itself; reaching here means it gave up.
      log.error({ err: error }, "stopped following token revocations; restart hookd to resume");
    });
    await ready;
  }

  stop(): void {
    this.#stop?.();
  }
}
