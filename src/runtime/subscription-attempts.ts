import type { AttemptResolved } from "../domain/delivery-events.ts";
import type { Logger } from "../log.ts";
import { type AttemptSummary, summarizeAttempt } from "../domain/delivery-event-views.ts";
import type { DeliveryListing, ListedEntry, ListingPage, ListingQuery } from "../nats/delivery-listing.ts";
import type { DeliveryStore, StoredTransition } from "../nats/delivery-store.ts";
import { orWhenUnreadable } from "../nats/journal.ts";
import { eachInParallel } from "./in-parallel.ts";

/**
 * A subscription's recent resolved attempts (GET /api/v1/subscriptions/<id>/attempts and the
 * console), read from the deliveries' journals rather than written twice (decision record 39). The
 * delivery list's index, filtered by subscription, names its deliveries in the journal order of
 * their last change, newest first; each one's journal holds its attempts. Every attempt sits in the
 * journal at or before its delivery's last change, so once `limit` attempts sit after the page's
 * oldest last change, no later page can hold a newer one. Journal order, not time: hookd's clock
 * (an attempt's `at`) and the server's (a message's time) need not agree.
 */

export type SubscriptionAttemptsDeps = {
  listing: Pick<DeliveryListing, "page">;
  deliveryStore: Pick<DeliveryStore, "readTransitions">;
  log: Pick<Logger, "warn">;
};

type Found = { summary: AttemptSummary; journalSeq: number };

/** Journal reads at once: a delivery list's search reads as many (runtime/delivery-list.ts). */
const PARALLEL_READS = 16;
/** Deliveries listed per index page, at least: a small `limit` past cancelled deliveries would otherwise page one by one. */
const LEAST_PAGE = 20;
/** A subscription with a large backlog of deliveries never attempted is not read through to its end. */
const MOST_DELIVERIES_READ = 2_000;

export class SubscriptionAttempts {
  constructor(private readonly deps: SubscriptionAttemptsDeps) {}

  async recent(subscriptionId: string, limit: number): Promise<AttemptSummary[]> {
    const found: Found[] = [];
    const seen = new Set<string>();
    const pageLimit = Math.max(limit, LEAST_PAGE);
    let startSeq: number | null = null;
    for await (const page of this.#pages({ subscriptionId, limit: pageLimit }, seen)) {
      startSeq ??= page.indexSeq;
      found.push(...(await this.#attemptsOf(page.entries, seen)));
      found.sort(newestFirst);
      const oldestChange = page.entries.at(-1)?.journalSeq ?? 0;
      if (found.length >= limit && found[limit - 1]!.journalSeq >= oldestChange) break;
    }
    // A delivery that changed while the pages were read moved above the first (its entry rewritten): read it too.
    for await (const page of this.#pages({ subscriptionId, limit: pageLimit, afterSeq: startSeq ?? 0 }, seen)) {
      found.push(...(await this.#attemptsOf(page.entries, seen)));
    }
    return found.sort(newestFirst).slice(0, limit).map(({ summary }) => summary);
  }

  /** The index's pages for `query`, newest first, until the last or until the deliveries `seen` reach the cap. */
  async *#pages(query: ListingQuery, seen: ReadonlySet<string>): AsyncGenerator<ListingPage<ListedEntry>> {
    let beforeSeq: number | undefined;
    while (seen.size < MOST_DELIVERIES_READ) {
      const page = await this.deps.listing.page({ ...query, ...(beforeSeq ? { beforeSeq } : {}) });
      yield page;
      if (page.nextBefore === null) return;
      beforeSeq = page.nextBefore;
    }
  }

  /** The resolved attempts of each entry's delivery not read yet (a pending one may hold earlier rounds' attempts). */
  async #attemptsOf(entries: readonly ListedEntry[], seen: Set<string>): Promise<Found[]> {
    const ids = entries.map((entry) => entry.id).filter((id) => !seen.has(id));
    for (const id of ids) seen.add(id);
    const found: Found[] = [];
    await eachInParallel(ids, PARALLEL_READS, async (id) => {
      for (const { event, seq } of await this.#transitionsOf(id)) {
        if (isResolved(event)) found.push({ summary: summarizeAttempt(id, event), journalSeq: seq });
      }
    });
    return found;
  }

  /**
   * A journal this hookd cannot read (a newer one's event type, a damaged message) leaves its delivery
   * out, not the whole list; the warning names it, as the list itself cannot.
   */
  #transitionsOf(id: string): Promise<StoredTransition[]> {
    return orWhenUnreadable(this.deps.deliveryStore.readTransitions(id), (error) => {
      this.deps.log.warn(
        { err: error, deliveryId: id },
        "a delivery's journal could not be read: its attempts are left out of the subscription's list",
      );
      return [];
    });
  }
}

function isResolved(event: { type: string }): event is AttemptResolved {
  return event.type === "attempt.succeeded" || event.type === "attempt.failed";
}

/** Later in the journal first; two attempts journaled in one message by attempt number. */
function newestFirst(a: Found, b: Found): number {
  return b.journalSeq - a.journalSeq || b.summary.attempt - a.summary.attempt;
}
