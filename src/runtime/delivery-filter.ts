import { z } from "zod";
import { DELIVERY_STATES, type DeliveryState } from "../../actors/delivery.machine.ts";
import { DeliveryStateSchema } from "./delivery-state.ts";
import { DELIVERY_ID_PREFIX, ulidTime } from "../domain/ids.ts";
import type { ListingFilter } from "../domain/delivery-listing.ts";
import type { IndexEntry } from "../nats/delivery-index.ts";
import type { DeliveryListing } from "../nats/delivery-listing.ts";
import { hostMatches } from "../domain/delivery-changes.ts";

/**
 * Which deliveries a filter matches (the shape bulk actions take), resolved in one place: bulk
 * actions count and act on what this returns. It pages through the delivery list's index
 * (nats/delivery-listing.ts), which filters by state, subscription, topic and event type on the
 * server, and by the time of the last state change (changed_after/changed_before) through the
 * index's time order; the target host (any port when the filter names none, unless
 * target_host_exact) and the creation time are checked on each entry, which carries them.
 */

export const DeliveryFilterSchema = z.object({
  state: z.union([
    DeliveryStateSchema,
    z.array(DeliveryStateSchema).min(1, "state lists at least one state"),
  ], { error: `state must be one of ${DELIVERY_STATES.join(", ")}, or a list of them` }).optional()
    .describe("one state or a list of states"),
  target_host: z.string().min(1).optional().describe("host[:port] of the delivery's URL; without a port, any port"),
  target_host_exact: z.boolean().optional().describe(
    "true: target_host matches host[:port] exactly, as the delivery list's host filter does (without a port, only the scheme's default port)",
  ),
  subscription_id: z.string().min(1).optional(),
  topic: z.string().min(1).optional().describe("the topic of the event a fan-out delivery carries"),
  event_type: z.string().min(1).optional(),
  created_after: z.iso.datetime({ offset: true, error: "created_after must be an ISO 8601 time" }).optional(),
  created_before: z.iso.datetime({ offset: true, error: "created_before must be an ISO 8601 time" }).optional(),
  changed_after: z.iso.datetime({ offset: true, error: "changed_after must be an ISO 8601 time" }).optional()
    .describe("the delivery's last state change at or after this time (the delivery list's since)"),
  changed_before: z.iso.datetime({ offset: true, error: "changed_before must be an ISO 8601 time" }).optional()
    .describe("the delivery's last state change before this time (the delivery list's until)"),
}).strict();
export type DeliveryFilter = z.infer<typeof DeliveryFilterSchema>;

export type ResolveDeps = { listing: Pick<DeliveryListing, "page"> };
export type Resolved = { ids: string[]; truncated: boolean };

/** Entries read from the index at once while resolving. */
const PAGE = 1_000;

/** The ids of the deliveries `filter` matches, newest state change first, at most `limit` (truncated says there were more). */
export async function resolveDeliveryFilter(
  deps: ResolveDeps,
  filter: DeliveryFilter,
  limit: number,
): Promise<Resolved> {
  const states = filter.state === undefined ? [undefined] : [...new Set([filter.state].flat())];
  const ids: string[] = [];
  for (const state of states) {
    let beforeSeq: number | undefined;
    do {
      const page = await deps.listing.page({ ...indexFilterOf(filter, state), limit: PAGE, beforeSeq });
      for (const entry of page.entries) if (entryMatches(filter, entry)) ids.push(entry.id);
      beforeSeq = page.nextBefore ?? undefined;
    } while (beforeSeq !== undefined && ids.length <= limit);
    if (ids.length > limit) break;
  }
  return { ids: ids.slice(0, limit), truncated: ids.length > limit };
}

function indexFilterOf(
  filter: DeliveryFilter,
  state: DeliveryState | undefined,
): ListingFilter & { since?: Date; until?: Date } {
  return {
    ...(state === undefined ? {} : { state }),
    ...(filter.subscription_id === undefined ? {} : { subscriptionId: filter.subscription_id }),
    ...(filter.topic === undefined ? {} : { topic: filter.topic }),
    ...(filter.event_type === undefined ? {} : { eventType: filter.event_type }),
    ...(filter.target_host_exact && filter.target_host !== undefined ? { host: filter.target_host } : {}),
    ...(filter.changed_after === undefined ? {} : { since: new Date(filter.changed_after) }),
    ...(filter.changed_before === undefined ? {} : { until: new Date(filter.changed_before) }),
  };
}

function entryMatches(filter: DeliveryFilter, entry: IndexEntry): boolean {
  // An exact host was matched by the index already.
  if (
    filter.target_host !== undefined && !filter.target_host_exact && !hostMatches(filter.target_host, entry.fields.host)
  ) {
    return false;
  }
  const created = ulidTime(entry.id.slice(DELIVERY_ID_PREFIX.length));
  if (filter.created_after !== undefined && created < Date.parse(filter.created_after)) return false;
  return filter.created_before === undefined || created < Date.parse(filter.created_before);
}
