import { DELIVERY_STATES } from "../../actors/delivery.machine.ts";
import { type ListingFilter, matchesFilter } from "../domain/delivery-listing.ts";
import { isDeliveryId, isEventId } from "../domain/ids.ts";
import type { IndexEntry } from "../nats/delivery-index.ts";
import type { DeliveryListing, ListingPage, ListingQuery } from "../nats/delivery-listing.ts";
import { orWhenUnreadable } from "../nats/journal.ts";
import { ActorNotFoundError, EventExpiredError } from "./errors.ts";
import { type EventViewDeps, loadEventView } from "./event-view.ts";
import { eachInParallel } from "./in-parallel.ts";

/**
 * The delivery list as the API and the console read it: a page of the index, or the deliveries a
 * search names (a delivery id, an event id and the deliveries its fan-out created, or an idempotency
 * key and the newest delivery created with it), each found by id rather than by reading the list;
 * and the counts per state with every state named.
 */

export type DeliveryListDeps = EventViewDeps & { listing: DeliveryListing };
export type DeliveryListQuery = ListingQuery & { q?: string };

const PARALLEL_LOOKUPS = 16;

export async function listDeliveries(deps: DeliveryListDeps, query: DeliveryListQuery): Promise<ListingPage> {
  if (query.q === undefined) return deps.listing.page(query);
  // Read first: a change the index records during the search is then after it, for a live view.
  const indexSeq = await deps.listing.lastSeq();
  // Found by id and read from the journal rather than the index, so ordered and paged by the journal
  // sequence each delivery last changed at: the index's own order, and one every delivery has (record 36).
  const found = (await searchDeliveries(deps, query.q))
    .filter((entry) => inQuery(entry, query))
    .sort((a, b) => b.journalSeq - a.journalSeq);
  const shown = found.slice(0, query.limit);
  return { entries: shown, nextBefore: found.length > query.limit ? shown.at(-1)!.journalSeq : null, indexSeq };
}

export async function countDeliveries(
  deps: DeliveryListDeps,
  filter: ListingFilter,
): Promise<{ counts: Record<string, number>; total: number; lag: number }> {
  const { counts, lag } = await deps.listing.counts(filter);
  const all = Object.fromEntries(DELIVERY_STATES.map((state) => [state, counts[state] ?? 0]));
  return { counts: all, total: Object.values(all).reduce((a, b) => a + b, 0), lag };
}

function inQuery(entry: IndexEntry, query: DeliveryListQuery): boolean {
  const time = Date.parse(entry.updatedAt);
  return (query.state === undefined || entry.state === query.state) &&
    matchesFilter(entry.fields, query) &&
    (query.beforeSeq === undefined || entry.journalSeq < query.beforeSeq) &&
    (query.since === undefined || time >= query.since.getTime()) &&
    (query.until === undefined || time < query.until.getTime());
}

async function searchDeliveries(deps: DeliveryListDeps, q: string): Promise<IndexEntry[]> {
  if (isDeliveryId(q)) return lookUp(deps, [q]);
  const [ofEvent, keyed] = await Promise.all([
    // Only an event id goes into a subject: any other text (a key with a space, a wildcard) is no event.
    isEventId(q) ? deliveriesOfEvent(deps, q) : Promise.resolve<string[]>([]),
    deps.listing.keyedId(q),
  ]);
  return lookUp(deps, keyed === null || ofEvent.includes(keyed) ? ofEvent : [...ofEvent, keyed]);
}

/**
 * Each delivery as its journal says now: its order (the journal sequence of its last change) then
 * only grows, so a delivery shown on one page of a search is never shown again on the next. The
 * index's pointer, where there is one, gives fields the journal's last message lacks.
 */
async function lookUp(deps: DeliveryListDeps, ids: readonly string[]): Promise<IndexEntry[]> {
  const found: IndexEntry[] = [];
  await eachInParallel(ids, PARALLEL_LOOKUPS, async (id) => {
    const reading = deps.deliveryStore.readListed(id, async () => (await deps.listing.lookup(id))?.fields ?? null);
    // A journal this hookd cannot read (record 40) leaves its delivery out of the results, and says which.
    const entry = await orWhenUnreadable(reading, (error) => {
      deps.log.warn({ err: error, deliveryId: id }, "a delivery's journal could not be read: the search leaves it out");
      return null;
    });
    if (entry) found.push(entry);
  });
  return found;
}

async function deliveriesOfEvent(deps: EventViewDeps, eventId: string): Promise<string[]> {
  try {
    return (await loadEventView(deps, eventId)).deliveries.map((delivery) => delivery.id);
  } catch (error) {
    if (error instanceof ActorNotFoundError || error instanceof EventExpiredError) return [];
    throw error;
  }
}
