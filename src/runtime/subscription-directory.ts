import type { SubscriptionConfig } from "../domain/subscription-events.ts";
import { type IndexedSubscription, SubscriptionIndex } from "../domain/subscription-index.ts";
import type { Logger } from "../log.ts";
import type { StoredSubscription, SubscriptionStore } from "../nats/subscription-store.ts";
import { patternText } from "../domain/topic-name.ts";

/**
 * This instance's view of every subscription, kept current from the subscription journals: the
 * fan-out index, and the list the API pages through.
 */

export type FanOutTarget = IndexedSubscription & {
  url: string;
  headers: Record<string, string>;
  secrets: SubscriptionConfig["secrets"];
  dialect: SubscriptionConfig["dialect"];
  retrySchedule: number[] | null;
  rateLimit: number | null;
  /** Its events go one at a time, in the topic log's order (runtime/ordered-lines.ts). */
  ordered: boolean;
  subscription: StoredSubscription;
};

function toTarget(id: string, subscription: StoredSubscription): FanOutTarget {
  const config = subscription.config;
  return {
    id,
    topic: config.topic,
    recursive: config.recursive,
    eventTypes: config.eventTypes,
    active: subscription.state === "active",
    url: config.url,
    headers: config.headers,
    secrets: config.secrets,
    dialect: config.dialect,
    retrySchedule: config.retrySchedule,
    rateLimit: config.rateLimit ?? null,
    ordered: config.ordered === true,
    subscription,
  };
}

export class SubscriptionDirectory {
  readonly index = new SubscriptionIndex<FanOutTarget>();
  /** The journal sequence each subscription's indexed version came from, so an older copy never replaces a newer one. */
  readonly #seqs = new Map<string, number>();
  /** Unsubscribed subscriptions' topics (they leave the index), so their past deliveries can still be found. */
  readonly #unsubscribed = new SubscriptionIndex<IndexedSubscription>();
  #follower: { stop(): void } | null = null;

  /**
   * `onDisabled` hears of each subscription this instance saw active (or paused…) and now sees
   * disabled; `onFoundDisabled` of each found disabled when the directory starts, since no running
   * instance may have seen it disabled live.
   */
  constructor(
    private readonly onDisabled?: (id: string, subscription: StoredSubscription, seq: number) => void,
    private readonly onFoundDisabled?: (disabled: { id: string; subscription: StoredSubscription }[]) => void,
  ) {}

  /** Resolves once every existing subscription is indexed. */
  async start(store: SubscriptionStore, log: Logger): Promise<void> {
    this.#follower = await store.follow((id, subscription, seq) => this.apply(id, subscription, seq), log);
    const disabled = [...this.index.all()].filter((target) => target.subscription.state === "disabled");
    if (disabled.length > 0) this.onFoundDisabled?.(disabled.map(({ id, subscription }) => ({ id, subscription })));
  }

  /**
   * Takes a subscription's version at journal sequence `seq`. Commands call this as soon as their
   * append is acknowledged, so this instance fans out with a change at once; the follower brings
   * the same change to every other instance.
   */
  apply(id: string, subscription: StoredSubscription, seq: number): void {
    if ((this.#seqs.get(id) ?? 0) >= seq) return;
    this.#seqs.set(id, seq);
    const previous = this.index.get(id)?.subscription.state;
    // Not while the index fills: start() hands those found disabled to onFoundDisabled.
    if (previous !== undefined && previous !== "disabled" && subscription.state === "disabled") {
      this.onDisabled?.(id, subscription, seq);
    }
    if (subscription.state === "unsubscribed") {
      this.index.remove(id);
      const { topic, recursive } = subscription.config;
      this.#unsubscribed.put({ id, topic, recursive, eventTypes: null, active: false });
    } else {
      this.#unsubscribed.remove(id);
      this.index.put(toTarget(id, subscription));
    }
  }

  /**
   * The ids of every subscription, unsubscribed ones too, whose topic covers `topic`: those an
   * event on it may have been fanned out to.
   */
  idsCovering(topic: string): string[] {
    return [...this.index.covering(topic), ...this.#unsubscribed.covering(topic)].map((subscription) =>
      subscription.id
    );
  }

  stop(): void {
    this.#follower?.stop();
  }

  list(
    filter: {
      topic?: string | undefined;
      owner?: string | undefined;
      state?: string | undefined;
      before?: string | undefined;
      limit: number;
    },
  ): FanOutTarget[] {
    const found: FanOutTarget[] = [];
    for (const target of this.index.all()) {
      const { config, state } = target.subscription;
      if (filter.topic !== undefined && patternText(config) !== filter.topic) continue;
      if (filter.owner !== undefined && config.owner !== filter.owner) continue;
      if (filter.state !== undefined && state !== filter.state) continue;
      if (filter.before !== undefined && target.id >= filter.before) continue;
      found.push(target);
    }
    return found.sort((a, b) => (a.id < b.id ? 1 : -1)).slice(0, filter.limit);
  }
}

/** The secrets that sign at `at`: during a rotation, the new one and the old one until its grace period ends. */
export function secretsAt(secrets: SubscriptionConfig["secrets"], at: number): string[] {
  return secrets.filter((entry) => entry.expiresAt === null || entry.expiresAt > at).map((entry) => entry.secret);
}
