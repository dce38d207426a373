import { z } from "zod";
import { DELIVERY_STATES, type DeliveryState } from "../../actors/delivery.machine.ts";
import { DELIVERY_ID_PREFIX, ulidTime } from "../domain/ids.ts";
import type { DeliveryStore, StoredCreated } from "../nats/delivery-store.ts";
import type { TopicLog } from "../nats/topic-log.ts";
import { tagsOf } from "../nats/delivery-change-headers.ts";
import { hostMatches } from "../domain/delivery-changes.ts";

/**
 * Which deliveries a filter matches (the shape the delivery list filters by), resolved in one
 * place: bulk actions count and act on what this returns. Today it scans the journal's heads
 * (DeliveryStore.list) and reads each candidate's created event when the filter asks about the
 * target, subscription, topic or event type; the delivery index replaces the scan without changing
 * the filter or the callers.
 */

const StateSchema = z.enum(DELIVERY_STATES as [DeliveryState, ...DeliveryState[]], {
  error: `state must be one of ${DELIVERY_STATES.join(", ")}`,
});

export const DeliveryFilterSchema = z.object({
  state: z.union([StateSchema, z.array(StateSchema).min(1)]).optional()
    .describe("one state or a list of states"),
  target_host: z.string().min(1).optional().describe("host[:port] of the delivery's URL; without a port, any port"),
  subscription_id: z.string().min(1).optional(),
  topic: z.string().min(1).optional().describe("the topic of the event a fan-out delivery carries"),
  event_type: z.string().min(1).optional(),
  created_after: z.iso.datetime({ offset: true, error: "created_after must be an ISO 8601 time" }).optional(),
  created_before: z.iso.datetime({ offset: true, error: "created_before must be an ISO 8601 time" }).optional(),
}).strict();
export type DeliveryFilter = z.infer<typeof DeliveryFilterSchema>;

export type ResolveDeps = { store: DeliveryStore; topics: TopicLog };
export type Resolved = { ids: string[]; truncated: boolean };

/** How many created events are read at once while resolving. */
const READ_CONCURRENCY = 16;

/** The ids of the deliveries `filter` matches, newest first, at most `limit` (truncated says there were more). */
export async function resolveDeliveryFilter(
  deps: ResolveDeps,
  filter: DeliveryFilter,
  limit: number,
): Promise<Resolved> {
  const states = filter.state === undefined ? null : [filter.state].flat();
  const after = filter.created_after ? Date.parse(filter.created_after) : -Infinity;
  const before = filter.created_before ? Date.parse(filter.created_before) : Infinity;
  const listed = await deps.store.list({
    ...(states?.length === 1 ? { state: states[0]! } : {}),
    limit: Number.MAX_SAFE_INTEGER,
  });
  const candidates = listed.filter((item) => {
    if (states && !states.includes(item.state)) return false;
    const created = ulidTime(item.id.slice(DELIVERY_ID_PREFIX.length));
    return created >= after && created < before;
  }).map((item) => item.id);
  const needsCreated = filter.target_host ?? filter.subscription_id ?? filter.topic ?? filter.event_type;
  const ids = needsCreated === undefined ? candidates : await matchingCreated(deps, filter, candidates, limit);
  return { ids: ids.slice(0, limit), truncated: ids.length > limit };
}

/** The candidates whose created event (and event, for topic and type) matches; stops once past `limit`. */
async function matchingCreated(
  deps: ResolveDeps,
  filter: DeliveryFilter,
  candidates: readonly string[],
  limit: number,
): Promise<string[]> {
  const matched: string[] = [];
  for (let i = 0; i < candidates.length && matched.length <= limit; i += READ_CONCURRENCY) {
    const slice = candidates.slice(i, i + READ_CONCURRENCY);
    const verdicts = await Promise.all(slice.map(async (id) => {
      const created = await deps.store.readCreated(id);
      return created !== null && await createdMatches(deps, filter, created);
    }));
    slice.forEach((id, index) => verdicts[index] && matched.push(id));
  }
  return matched;
}

async function createdMatches(deps: ResolveDeps, filter: DeliveryFilter, created: StoredCreated): Promise<boolean> {
  const tags = tagsOf(created.event);
  if (filter.target_host !== undefined && !hostMatches(filter.target_host, tags.targetHost)) return false;
  if (filter.subscription_id !== undefined && tags.subscriptionId !== filter.subscription_id) return false;
  if (filter.topic === undefined && filter.event_type === undefined) return true;
  // Only fan-out deliveries carry an event; its topic and type are in the topic log.
  const ref = created.event.data.bodyRef;
  const event = ref ? await deps.topics.read(ref.topicSeq) : null;
  if (!event || event.id !== ref?.eventId) return false;
  if (filter.topic !== undefined && event.topic !== filter.topic) return false;
  return filter.event_type === undefined || event.type === filter.event_type;
}
