/**
 * A small cache of promised values, least recently used dropped first. Keeping the promise, not the
 * value, lets callers that ask for the same key at once share one lookup. A rejected promise is not
 * kept: the next call asks again.
 */
export class RecentPromises<K, V> {
  readonly #entries = new Map<K, Promise<V>>();

  constructor(private readonly kept: number) {}

  get(key: K, load: () => Promise<V>): Promise<V> {
    const known = this.#entries.get(key);
    if (known) {
      // Most recently used last, so the oldest goes first when the cache is full.
      this.#entries.delete(key);
      this.#entries.set(key, known);
      return known;
    }
    if (this.#entries.size >= this.kept) this.#entries.delete(this.#entries.keys().next().value!);
    const value = load();
    value.catch(() => {
      if (this.#entries.get(key) === value) this.#entries.delete(key);
    });
    this.#entries.set(key, value);
    return value;
  }
}
