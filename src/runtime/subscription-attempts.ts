import type { AttemptResolved } from "../domain/delivery-events.ts";
import { type AttemptSummary, summarizeAttempt } from "../domain/delivery-event-views.ts";
import type { DeliveryListing } from "../nats/delivery-listing.ts";
import type { DeliveryStore } from "../nats/delivery-store.ts";

/**
 * A subscription's recent resolved attempts (GET /api/v1/subscriptions/<id>/attempts and the
 * console), read from the deliveries' journals rather than written twice (decision record 39). The
 * delivery list's index, filtered by subscription, names its deliveries newest change first; each
 * one's journal holds its attempts. Every attempt of a delivery is at or before its last change, so
 * once `limit` attempts are at least as new as the next page's first change, no later page can
 * hold a newer one.
 */

export type SubscriptionAttemptsDeps = {
  listing: Pick<DeliveryListing, "page">;
  deliveryStore: Pick<DeliveryStore, "readTransitions">;
};

const PARALLEL_READS = 16;
/** Deliveries listed per index page, at least: a small `limit` past a cancelled delivery would otherwise page one by one. */
const LEAST_PAGE = 20;
/** A subscription with a large backlog of deliveries never attempted is not read through to its end. */
const MOST_DELIVERIES_READ = 2_000;

export class SubscriptionAttempts {
  constructor(private readonly deps: SubscriptionAttemptsDeps) {}

  async recent(subscriptionId: string, limit: number): Promise<AttemptSummary[]> {
    const found: AttemptSummary[] = [];
    const seen = new Set<string>();
    let beforeSeq: number | undefined;
    while (seen.size < MOST_DELIVERIES_READ) {
      const pageLimit = Math.max(limit, LEAST_PAGE);
      const page = await this.deps.listing.page({
        subscriptionId,
        limit: pageLimit,
        ...(beforeSeq ? { beforeSeq } : {}),
      });
      // A delivery that changed while the pages were read has a newer entry on an earlier page: read once.
      const fresh = page.entries.filter((entry) => !seen.has(entry.id) && entry.state !== "pending");
      for (const entry of page.entries) seen.add(entry.id);
      found.push(...(await this.#attemptsOf(fresh.map((entry) => entry.id))));
      found.sort(newestFirst);
      const oldestChange = page.entries.at(-1)?.updatedAt;
      if (page.nextBefore === null || oldestChange === undefined) break;
      if (found.length >= limit && Date.parse(found[limit - 1]!.at) >= Date.parse(oldestChange)) break;
      beforeSeq = page.nextBefore;
    }
    return found.slice(0, limit);
  }

  async #attemptsOf(ids: readonly string[]): Promise<AttemptSummary[]> {
    const attempts: AttemptSummary[] = [];
    let next = 0;
    const reader = async () => {
      while (next < ids.length) {
        const id = ids[next++]!;
        for (const { event } of await this.deps.deliveryStore.readTransitions(id)) {
          if (isResolved(event)) attempts.push(summarizeAttempt(id, event));
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL_READS, ids.length) }, reader));
    return attempts;
  }
}

function isResolved(event: { type: string }): event is AttemptResolved {
  return event.type === "attempt.succeeded" || event.type === "attempt.failed";
}

/** Newest first; one delivery's attempts at the same millisecond by attempt number. */
function newestFirst(a: AttemptSummary, b: AttemptSummary): number {
  return Date.parse(b.at) - Date.parse(a.at) || b.attempt - a.attempt;
}
