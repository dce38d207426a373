import { DeliverPolicy, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import type { PersistedSubscription } from "../../actors/subscription.fold.ts";
import {
  type SubscriptionConfig,
  SubscriptionConfigSchema,
  type SubscriptionCreated,
  type SubscriptionTransition,
  type SubscriptionUpdated,
} from "../domain/subscription-events.ts";
import { sealedKeyId, type SecretBox, SecretBoxError } from "../domain/secret-box.ts";
import type { Logger } from "../log.ts";
import { Journal } from "./journal.ts";
import type { JetStreamLayout } from "./layout.ts";
import type { JetStreamPublisher } from "./jetstream-publisher.ts";

/**
 * Subscriptions live in their journals: one subject each, every entry carrying the event and the
 * whole subscription it led to (state, machine context, settings). The last entry of a subject is
 * therefore the current subscription, which is what KV does too; every instance follows them with
 * an ordered consumer (last per subject, then live) to keep its fan-out index. Signing secrets are
 * sealed in the journal (SecretBox, the subscription id as associated data) and plain in memory:
 * every read here opens them, every append seals them, and nothing else touches the stream.
 */

export type SubscriptionEvent = SubscriptionCreated | SubscriptionTransition | SubscriptionUpdated;
export type StoredSubscription = PersistedSubscription & {
  config: SubscriptionConfig;
  createdAt: string;
  updatedAt: string;
};
export type SubscriptionHead = { seq: number; subscription: StoredSubscription };

const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** How long start-up waits for the existing subscriptions before going on with what it has. */
const CATCH_UP_LIMIT_MS = 30_000;

/** The subscription with its secrets as `change` maps them (sealing on the way in, opening on the way out). */
async function withSecrets(
  subscription: StoredSubscription,
  change: (secret: string) => Promise<string>,
): Promise<StoredSubscription> {
  const secrets = await Promise.all(
    subscription.config.secrets.map(async (entry) => ({ ...entry, secret: await change(entry.secret) })),
  );
  return { ...subscription, config: { ...subscription.config, secrets } };
}

export class SubscriptionStore {
  readonly journal: Journal;

  constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    publisher: JetStreamPublisher,
    private readonly layout: JetStreamLayout,
    private readonly box: SecretBox,
  ) {
    this.journal = new Journal(jsm, layout.streams.subscriptions, publisher);
  }

  async append(id: string, event: SubscriptionEvent, after: StoredSubscription, expectedSeq: number): Promise<number> {
    const subject = this.layout.subjects.subscription(id);
    const sealed = await withSecrets(after, (secret) => this.box.seal(secret, id));
    const result = await this.journal.append(subject, encoder.encode(JSON.stringify({ event, after: sealed })), {
      expectedSeq,
      headers: { "Hookd-State": after.state },
    });
    return result.seq;
  }

  async readHead(id: string): Promise<SubscriptionHead | null> {
    const entry = await this.journal.readLast(this.layout.subjects.subscription(id));
    return entry ? { seq: entry.seq, subscription: (await this.parse(id, entry.data)).after } : null;
  }

  /**
   * The entry that disabled the subscription, when it is disabled now: the first of the run of
   * disabled entries its journal ends with (failures journaled after the disable keep it disabled).
   * Null when it is not disabled, or when the entry that disabled it is no longer kept.
   */
  async readDisabling(id: string): Promise<SubscriptionHead | null> {
    const entries = await this.journal.readAll(this.layout.subjects.subscription(id));
    let disabling: (typeof entries)[number] | null = null;
    const stateOf = (data: Uint8Array) =>
      (JSON.parse(decoder.decode(data)) as { after: { state: string } }).after.state;
    for (let i = entries.length - 1; i >= 0 && stateOf(entries[i]!.data) === "disabled"; i--) {
      disabling = i > 0 ? entries[i]! : null;
    }
    return disabling ? { seq: disabling.seq, subscription: (await this.parse(id, disabling.data)).after } : null;
  }

  /** Every subscription's id, unsubscribed ones included. */
  async ids(): Promise<string[]> {
    const { streams, subjects } = this.layout;
    const info = await this.jsm.streams.info(streams.subscriptions, { subjects_filter: subjects.allSubscriptions });
    return Object.keys(info.state.subjects ?? {}).flatMap((subject) => {
      const parsed = this.layout.parseSubject(subject);
      return parsed?.kind === "subscription" ? [parsed.id] : [];
    });
  }

  /**
   * Purges every entry of the subscription's journal but the current one: after a re-seal, the older
   * ones still hold its secrets under the old key (or plain, from before sealing). How many went.
   */
  async dropOlderEntries(id: string): Promise<number> {
    const filter = this.layout.subjects.subscription(id);
    return (await this.jsm.streams.purge(this.layout.streams.subscriptions, { filter, keep: 1 })).purged;
  }

  /**
   * True when the subscription's current entry holds a secret that is plain or sealed under another
   * key than the box's current one. Only current entries are ever opened (older ones keep whatever
   * they were sealed under), so re-sealing the current entry is what lets an old key go.
   */
  async needsReseal(id: string): Promise<boolean> {
    const entry = await this.journal.readLast(this.layout.subjects.subscription(id));
    if (!entry) return false;
    const raw = JSON.parse(decoder.decode(entry.data)) as { after: { config: { secrets: { secret: string }[] } } };
    return raw.after.config.secrets.some(({ secret }) => sealedKeyId(secret) !== this.box.keyId);
  }

  private async parse(id: string, data: Uint8Array): Promise<{ event: SubscriptionEvent; after: StoredSubscription }> {
    const raw = JSON.parse(decoder.decode(data)) as { event: SubscriptionEvent; after: StoredSubscription };
    SubscriptionConfigSchema.parse(raw.after.config);
    return { event: raw.event, after: await withSecrets(raw.after, (text) => this.box.open(text, id)) };
  }

  /**
   * Calls `onChange` with every subscription's current version, then with every change as it
   * happens. Resolves once the current versions have all been seen; throws SecretBoxError when one of
   * them is sealed under a key this instance lacks.
   */
  async follow(
    onChange: (id: string, subscription: StoredSubscription, seq: number) => void,
    log: Logger,
  ): Promise<{ stop(): void }> {
    // How many subscriptions exist now: the consumer's own pending count is not a reliable "caught up"
    // signal for last-per-subject delivery on nats-server 2.9, so count the subjects and wait for that many.
    const { streams, subjects } = this.layout;
    const expected = (await this.ids()).length;
    const seen = new Set<string>();
    const consumer = await this.js.consumers.get(streams.subscriptions, {
      filter_subjects: subjects.allSubscriptions,
      deliver_policy: DeliverPolicy.LastPerSubject,
    });
    const messages = await consumer.consume();
    let caughtUp!: () => void;
    const ready = new Promise<void>((resolve) => (caughtUp = resolve));
    if (expected === 0) caughtUp();
    // A subject purged by hand between the count and the read would otherwise hold start-up forever.
    const limit = setTimeout(() => {
      log.warn(
        { expected, seen: seen.size },
        "not every subscription was read at start; going on with those that were",
      );
      caughtUp();
    }, CATCH_UP_LIMIT_MS);
    void ready.then(() => clearTimeout(limit));
    // A subscription sealed under a key this instance lacks would silently miss its events: refuse to start.
    let locked: SecretBoxError | null = null;
    let started = false;
    void (async () => {
      for await (const message of messages) {
        try {
          const parsed = this.layout.parseSubject(message.subject);
          if (parsed?.kind !== "subscription") throw new Error("not a subscription subject");
          onChange(parsed.id, (await this.parse(parsed.id, message.data)).after, message.seq);
        } catch (error) {
          if (error instanceof SecretBoxError && !started) locked ??= error;
          // Later (a change another instance made under a key this one lacks), the index keeps the version it had.
          log.error({ err: error, subject: message.subject }, "unreadable subscription journal entry");
        }
        seen.add(message.subject);
        if (seen.size >= expected) caughtUp();
      }
    })().catch((error: unknown) => {
      // The ordered consumer recovers from reconnects by itself; reaching here means it gave up.
      log.error({ err: error }, "stopped following subscription changes; restart hookd to resume");
    });
    await ready;
    started = true;
    if (locked) {
      messages.stop();
      throw locked;
    }
    return { stop: () => messages.stop() };
  }
}
