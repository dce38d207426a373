import type { Logger } from "../log.ts";
import type { Context } from "hono";
import { z } from "zod";
import { cursorKindOf, decodeCursor, encodeCursor, type ListingFilter } from "../domain/delivery-listing.ts";
import type { DeliveryStore } from "../nats/delivery-store.ts";
import type { IndexEntry } from "../nats/delivery-index.ts";
import type { DeliveryListing } from "../nats/delivery-listing.ts";
import type { TopicLog } from "../nats/topic-log.ts";
import { countDeliveries, listDeliveries } from "../runtime/delivery-list.ts";
import type { SubscriptionDirectory } from "../runtime/subscription-directory.ts";

/** GET /api/v1/deliveries and its counts: the index's entries as the API names their fields. */

export const ListedDeliverySchema = z.object({
  id: z.string(),
  state: z.string(),
  target: z.string().nullable().describe("the URL delivered to (the first 512 characters)"),
  host: z.string(),
  subscription_id: z.string().nullable(),
  topic: z.string().nullable(),
  event_type: z.string().nullable(),
  event_id: z.string().nullable(),
  created_at: z.string(),
  updated_at: z.string().describe("when the delivery reached its state (the list's order, newest first)"),
}).openapi("ListedDelivery");

export type ListingDeps = {
  deliveryStore: DeliveryStore;
  deliveryListing: DeliveryListing;
  topics: TopicLog;
  subscriptionDirectory: SubscriptionDirectory;
  log: Logger;
};

type FacetQuery = { subscription_id?: string; host?: string; topic?: string; event_type?: string };
type ListQuery = FacetQuery & {
  state?: string;
  limit: number;
  cursor?: string;
  since?: Date;
  until?: Date;
  q?: string;
};

function filterOf(query: FacetQuery): ListingFilter {
  return {
    ...(query.subscription_id === undefined ? {} : { subscriptionId: query.subscription_id }),
    ...(query.host === undefined ? {} : { host: query.host }),
    ...(query.topic === undefined ? {} : { topic: query.topic }),
    ...(query.event_type === undefined ? {} : { eventType: query.event_type }),
  };
}

function rowOf(entry: IndexEntry): z.infer<typeof ListedDeliverySchema> {
  const { fields } = entry;
  return {
    id: entry.id,
    state: entry.state,
    target: fields.target,
    host: fields.host,
    subscription_id: fields.subscriptionId,
    topic: fields.topic,
    event_type: fields.eventType,
    event_id: fields.eventId,
    created_at: fields.createdAt,
    updated_at: entry.updatedAt,
  };
}

export async function listDeliveriesView(c: Context, query: ListQuery, deps: ListingDeps): Promise<Response> {
  const page = await listDeliveries(
    {
      listing: deps.deliveryListing,
      deliveryStore: deps.deliveryStore,
      topics: deps.topics,
      subscriptionDirectory: deps.subscriptionDirectory,
      log: deps.log,
    },
    {
      ...filterOf(query),
      ...(query.state === undefined ? {} : { state: query.state }),
      ...(query.cursor === undefined ? {} : { beforeSeq: decodeCursor(query.cursor)!.beforeSeq }),
      ...(query.since === undefined ? {} : { since: query.since }),
      ...(query.until === undefined ? {} : { until: query.until }),
      ...(query.q === undefined ? {} : { q: query.q }),
      limit: query.limit,
    },
  );
  const nextCursor = page.nextBefore === null ? null : encodeCursor(page.nextBefore, cursorKindOf(query));
  return c.json({
    data: page.entries.map(rowOf),
    next_cursor: nextCursor,
    links: { next: nextCursor === null ? null : nextLink(c, nextCursor) },
  });
}

export async function countDeliveriesView(c: Context, query: FacetQuery, deps: ListingDeps): Promise<Response> {
  const { counts, total, lag } = await countDeliveries(
    {
      listing: deps.deliveryListing,
      deliveryStore: deps.deliveryStore,
      topics: deps.topics,
      subscriptionDirectory: deps.subscriptionDirectory,
      log: deps.log,
    },
    filterOf(query),
  );
  return c.json({ counts, total, index_lag: lag });
}

/** The same path and query with the cursor replaced: a client follows it without rebuilding the filters. */
function nextLink(c: Context, cursor: string): string {
  const url = new URL(c.req.url);
  url.searchParams.set("cursor", cursor);
  return `${url.pathname}?${url.searchParams.toString()}`;
}
