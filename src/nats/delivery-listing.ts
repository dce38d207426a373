import { AckPolicy, DeliverPolicy, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import {
  facetToken,
  filterTokens,
  ListingFieldsSchema,
  type ListingFilter,
  matchesFilter,
} from "../domain/delivery-listing.ts";
import type { Checkpoint, IndexEntry, KeyPointer, Pointer } from "./delivery-index.ts";
import { unavailable } from "./journal.ts";
import type { JetStreamLayout } from "./layout.ts";

/**
 * Reads the delivery list's index (delivery-index.ts): pages newest first, and counts per state.
 * Entries sit in the order the indexer wrote them, which is the order of the deliveries' last
 * state changes, so a page is read backwards from its upper bound in growing windows of stream
 * sequences, each window one short-lived consumer whose filter is the page's state and facets: the
 * server skips other entries by subject and hands over only matching ones. A cursor is the lowest
 * sequence shown, so the next page starts strictly below it: an entry never shows twice, and a
 * delivery whose state changes meanwhile gets a new entry above the cursor (its old one is deleted)
 * instead of moving into a later page. (A search pages by journal sequence instead, with a cursor
 * of its own kind: runtime/delivery-list.ts.)
 */

export type ListedEntry = IndexEntry & { seq: number };
/**
 * `indexSeq`: the index's last sequence before the page was read, where a live view of it starts.
 * `nextBefore`: where the next page starts (strictly below): an index sequence, or for a search
 * (runtime/delivery-list.ts) a journal sequence.
 */
export type ListingPage<E extends IndexEntry = IndexEntry> = {
  entries: E[];
  nextBefore: number | null;
  indexSeq: number;
};
/** `beforeSeq` and `afterSeq` bound the index sequences read, both exclusive. */
export type ListingQuery = ListingFilter & {
  beforeSeq?: number;
  afterSeq?: number;
  since?: Date;
  until?: Date;
  limit: number;
};
/** Deliveries per state, and how far the index is behind the journal when they were read. */
export type ListingCounts = { counts: Record<string, number>; lag: number };

const decoder = new TextDecoder();
const FIRST_WINDOW = 512;
const WINDOW_GROWTH = 4;
const FETCH_EXPIRES_MS = 5_000;
/** Counts are read at most this often per filter and instance, however many pages ask. */
const COUNTS_FRESH_MS = 1_000;
const COUNTS_KEPT = 64;
const CONSUMER_IDLE_NS = 30_000_000_000;

type Window = { lo: number; hi: number };

export class DeliveryListing {
  readonly #counts = new Map<string, { at: number; value: Promise<ListingCounts> }>();

  constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly layout: JetStreamLayout,
    private readonly clock: () => number = Date.now,
  ) {}

  async page(query: ListingQuery): Promise<ListingPage<ListedEntry>> {
    const { first_seq: first, last_seq: last } = await this.#indexState();
    let hi = Math.min(last, (query.beforeSeq ?? Infinity) - 1);
    if (query.until) hi = Math.min(hi, (await this.#firstSeqAt(query.until, first, last)) - 1);
    const entries: ListedEntry[] = [];
    const subject = this.layout.subjects.indexFilter(query.state ?? null, filterTokens(query));
    let width = Math.max(FIRST_WINDOW, query.limit * 8);
    // How many matching entries lie above the window: the consumer's count less those is the window's.
    let above = hi >= last ? 0 : await this.#pendingFrom(subject, hi + 1);
    const lowest = Math.max(first, (query.afterSeq ?? 0) + 1);
    while (hi >= lowest && hi > 0 && entries.length <= query.limit) {
      const window = { lo: Math.max(lowest, hi - width + 1), hi };
      const { found, pending } = await this.#readWindow(subject, window, above);
      above = pending;
      const since = query.since?.getTime() ?? -Infinity;
      const kept = found.filter((entry) => matchesFilter(entry.fields, query) && Date.parse(entry.updatedAt) >= since);
      entries.push(...kept.reverse());
      // Entries are in time order, so one older than `since` ends the list.
      if (found.some((entry) => Date.parse(entry.updatedAt) < since)) break;
      hi = window.lo - 1;
      width *= WINDOW_GROWTH;
    }
    const shown = entries.slice(0, query.limit);
    return { entries: shown, nextBefore: entries.length > query.limit ? shown.at(-1)!.seq : null, indexSeq: last };
  }

  /**
   * One delivery's entry, found by id through its pointer; null when the index has none (yet), or
   * lists the delivery without a pointer (delivered from the start: its journal says the same).
   */
  async lookup(id: string): Promise<IndexEntry | null> {
    const message = await this.jsm.direct.getMessage(this.layout.streams.indexed, {
      last_by_subj: this.layout.subjects.indexedDelivery(id),
    }).catch(unavailable);
    if (!message) return null;
    const { entry: _entry, previous: _previous, ...listed } = JSON.parse(decoder.decode(message.data)) as Pointer;
    // Its fields stand in for a created event's (a search's row): only when they are whole.
    return ListingFieldsSchema.safeParse(listed.fields).success ? listed : null;
  }

  /** The index's last sequence now. */
  async lastSeq(): Promise<number> {
    return (await this.#indexState()).last_seq;
  }

  async #indexState() {
    return (await this.jsm.streams.info(this.layout.streams.index).catch(unavailable)).state;
  }

  /** The newest delivery created with this idempotency key; null when none is indexed. */
  async keyedId(key: string): Promise<string | null> {
    const message = await this.jsm.direct.getMessage(this.layout.streams.indexed, {
      last_by_subj: this.layout.subjects.indexedKey(facetToken(key)),
    }).catch(unavailable);
    if (!message) return null;
    const pointer = JSON.parse(decoder.decode(message.data)) as KeyPointer;
    return pointer.key === key ? pointer.id : null;
  }

  /**
   * Delivery journal messages the indexer has yet to read: as its checkpoint last said, and at
   * least 1 while the journal holds one past the checkpoint (one direct read near the journal's
   * end; counting them all would make the server walk the journal's subjects).
   */
  async lag(): Promise<number> {
    const message = await this.jsm.direct.getMessage(this.layout.streams.indexed, {
      last_by_subj: this.layout.subjects.indexCheckpoint,
    }).catch(unavailable);
    const checkpoint = message ? (JSON.parse(decoder.decode(message.data)) as Checkpoint) : null;
    const unread = await this.jsm.direct.getMessage(this.layout.streams.journal, {
      seq: (checkpoint?.through ?? 0) + 1,
      next_by_subj: this.layout.subjects.allDeliveryJournals,
    }).catch(unavailable);
    return Math.max(checkpoint?.behind ?? 0, unread ? 1 : 0);
  }

  /** Deliveries per state among those the filter's facets select (the state filter is ignored). */
  counts(filter: ListingFilter): Promise<ListingCounts> {
    const key = JSON.stringify(filterTokens(filter));
    const cached = this.#counts.get(key);
    const now = this.clock();
    if (cached && now - cached.at < COUNTS_FRESH_MS) return cached.value;
    if (this.#counts.size >= COUNTS_KEPT) this.#counts.clear();
    const value = this.#readCounts(filter);
    this.#counts.set(key, { at: now, value });
    value.catch(() => this.#counts.delete(key));
    return value;
  }

  async #readCounts(filter: ListingFilter): Promise<ListingCounts> {
    const subjects_filter = this.layout.subjects.indexFilter(null, filterTokens(filter));
    const [info, lag] = await Promise.all([
      this.jsm.streams.info(this.layout.streams.index, { subjects_filter }).catch(unavailable),
      this.lag(),
    ]);
    const counts: Record<string, number> = {};
    for (const [subject, count] of Object.entries(info.state.subjects ?? {})) {
      const parsed = this.layout.parseSubject(subject);
      if (parsed?.kind === "index-entry") counts[parsed.state] = (counts[parsed.state] ?? 0) + count;
    }
    return { counts, lag };
  }

  /**
   * The matching entries with sequences in the window, oldest first, and how many match from the
   * window's start to the stream's end (`above` of them lie past the window, so are not fetched).
   */
  async #readWindow(
    subject: string,
    window: Window,
    above: number,
  ): Promise<{ found: ListedEntry[]; pending: number }> {
    const info = await this.#consumerAt(subject, window.lo);
    const found: ListedEntry[] = [];
    try {
      const consumer = await this.js.consumers.get(this.layout.streams.index, info.name);
      // The window's count, unless entries above it were written or deleted since `above` was read
      // (a page read while deliveries change): so the read ends at the first entry above the window,
      // asking for one more than expected, never at a count.
      let expected = info.num_pending - above;
      let pending = info.num_pending;
      // Past the expected count (entries above were deleted meanwhile), ask for eight times as many
      // each time: one message for a window that is empty, a few fetches for many deletions.
      let beyond = 1;
      while (pending > 0) {
        const want = Math.min(expected > 0 ? expected + 1 : beyond, pending, 1_000);
        if (expected <= 0) beyond *= 8;
        const batch = await consumer.fetch({ max_messages: want, expires: FETCH_EXPIRES_MS });
        let got = 0;
        let past = false;
        for await (const message of batch) {
          got++;
          pending = message.info.pending;
          if (message.seq > window.hi) {
            past = true;
            break;
          }
          found.push({ ...(JSON.parse(decoder.decode(message.data)) as IndexEntry), seq: message.seq });
        }
        if (got === 0 || past) break;
        expected -= got;
      }
    } finally {
      this.#drop(info.name);
    }
    return { found, pending: info.num_pending };
  }

  async #pendingFrom(subject: string, seq: number): Promise<number> {
    const info = await this.#consumerAt(subject, seq);
    this.#drop(info.name);
    return info.num_pending;
  }

  #consumerAt(subject: string, seq: number) {
    return this.jsm.consumers.add(this.layout.streams.index, {
      ack_policy: AckPolicy.None,
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: seq,
      filter_subject: subject,
      mem_storage: true,
      inactive_threshold: CONSUMER_IDLE_NS,
    }).catch(unavailable);
  }

  /** A page's consumers are deleted without waiting; the idle threshold removes any delete that is lost. */
  #drop(name: string): void {
    void this.jsm.consumers.delete(this.layout.streams.index, name).catch(() => undefined);
  }

  /**
   * The first index sequence whose entry changed at or after `time`, by binary search over the
   * entries' own times: the indexer writes entries in journal order, so their times rise with
   * their sequences, also for a backfilled journal whose entries were all written today.
   */
  async #firstSeqAt(time: Date, first: number, last: number): Promise<number> {
    const anyEntry = this.layout.subjects.indexFilter(null, [null, null, null, null]);
    let [lo, hi] = [first, last + 1];
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      const found = await this.jsm.direct.getMessage(this.layout.streams.index, { seq: mid, next_by_subj: anyEntry })
        .catch(unavailable);
      if (!found || found.seq >= hi) hi = mid;
      else if (Date.parse((found.json() as IndexEntry).updatedAt) < time.getTime()) lo = found.seq + 1;
      else hi = mid;
    }
    return lo;
  }
}
