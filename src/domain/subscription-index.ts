/**
 * Which subscriptions want an event: an in-memory index by topic, so matching costs the depth of
 * the topic, not the number of subscriptions. Exact subscriptions are looked up by topic; recursive
 * ones ("foo/") by each proper ancestor of the event's topic.
 */

export type IndexedSubscription = {
  id: string;
  topic: string;
  recursive: boolean;
  /** Only these event types, when set; null takes every event. */
  eventTypes: readonly string[] | null;
  active: boolean;
};

export class SubscriptionIndex<T extends IndexedSubscription> {
  readonly #byId = new Map<string, T>();
  readonly #exact = new Map<string, Map<string, T>>();
  readonly #recursive = new Map<string, Map<string, T>>();

  get size(): number {
    return this.#byId.size;
  }

  get(id: string): T | undefined {
    return this.#byId.get(id);
  }

  all(): IterableIterator<T> {
    return this.#byId.values();
  }

  /** Adds or replaces a subscription (a new version of it moves it if its topic changed). */
  put(subscription: T): void {
    this.remove(subscription.id);
    this.#byId.set(subscription.id, subscription);
    const table = subscription.recursive ? this.#recursive : this.#exact;
    let bucket = table.get(subscription.topic);
    if (!bucket) table.set(subscription.topic, bucket = new Map());
    bucket.set(subscription.id, subscription);
  }

  remove(id: string): void {
    const existing = this.#byId.get(id);
    if (!existing) return;
    this.#byId.delete(id);
    const table = existing.recursive ? this.#recursive : this.#exact;
    const bucket = table.get(existing.topic);
    bucket?.delete(id);
    if (bucket?.size === 0) table.delete(existing.topic);
  }

  /** Active subscriptions that want an event of `type` (or untyped) on `topic`. */
  match(topic: string, type: string | null): T[] {
    const found: T[] = [];
    this.#eachCovering(topic, (subscription) => {
      if (!subscription.active) return;
      if (subscription.eventTypes && (type === null || !subscription.eventTypes.includes(type))) return;
      found.push(subscription);
    });
    return found;
  }

  /** Every subscription whose topic covers `topic`, whatever its state and event types. */
  covering(topic: string): T[] {
    const found: T[] = [];
    this.#eachCovering(topic, (subscription) => found.push(subscription));
    return found;
  }

  #eachCovering(topic: string, visit: (subscription: T) => void): void {
    for (const subscription of this.#exact.get(topic)?.values() ?? []) visit(subscription);
    for (let slash = topic.indexOf("/"); slash >= 0; slash = topic.indexOf("/", slash + 1)) {
      for (const subscription of this.#recursive.get(topic.slice(0, slash))?.values() ?? []) visit(subscription);
    }
  }
}
