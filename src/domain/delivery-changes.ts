import { z } from "zod";

/**
 * A delivery's journal entries as a feed of changes: which delivery moved from which state to which,
 * by what event, when, to which target host and for which subscription. The console's live views
 * and the fleet statistics read these, not whole journal entries: the journal's headers carry
 * everything here, so a reader never needs a message's body.
 */

export type DeliveryChange = {
  /** The journal message's stream sequence; two steps journaled at once share it. */
  seq: number;
  deliveryId: string;
  /** null for the delivery's creation. */
  from: string | null;
  to: string;
  /** The journal event: `delivery.created`, `attempt.started`, `attempt.succeeded`… */
  event: string;
  /** When the journal stored it (ISO 8601): the same on every instance. */
  at: string;
  /** host[:port] of the delivery's URL; null when the journal entry does not say (older entries). */
  targetHost: string | null;
  subscriptionId: string | null;
  /** For an attempt's outcome: the receiver's status (null for no answer) and the latency. */
  attempt?: { status: number | null; latencyMs: number };
};

export const CHANGE_EVENT = "delivery.change";

export const ChangeFilterSchema = z.object({
  delivery_id: z.string().min(1).optional(),
  subscription_id: z.string().min(1).optional(),
  /** host[:port]; without a port it matches the host on any port. */
  target_host: z.string().min(1).optional(),
  /** Changes into this state (or out of it). */
  state: z.string().min(1).optional(),
}).strict();
export type ChangeFilter = z.infer<typeof ChangeFilterSchema>;

export function matchesChange(filter: ChangeFilter, change: DeliveryChange): boolean {
  if (filter.delivery_id !== undefined && filter.delivery_id !== change.deliveryId) return false;
  if (filter.subscription_id !== undefined && filter.subscription_id !== change.subscriptionId) return false;
  if (filter.target_host !== undefined && !hostMatches(filter.target_host, change.targetHost)) return false;
  if (filter.state !== undefined && filter.state !== change.to && filter.state !== change.from) return false;
  return true;
}

/** A filter's host names the target with its port ("api.example.com:8443") or without it ("api.example.com"). */
export function hostMatches(wanted: string, targetHost: string | null): boolean {
  if (targetHost === null) return false;
  const want = wanted.toLowerCase();
  const host = targetHost.toLowerCase();
  return host === want || host.replace(/:\d+$/, "") === want;
}

/** The API's snake_case form of a change. */
export function changeJson(change: DeliveryChange) {
  return {
    seq: change.seq,
    delivery_id: change.deliveryId,
    from: change.from,
    to: change.to,
    event: change.event,
    at: change.at,
    target_host: change.targetHost,
    subscription_id: change.subscriptionId,
    ...(change.attempt ? { status: change.attempt.status, latency_ms: change.attempt.latencyMs } : {}),
  };
}

/**
 * One SSE event per change. Only the last change of a journal message carries the `id:` line, so a
 * client cut off between two steps of one message resumes before both (a repeat, never a gap).
 */
export function sseChangeFrame(change: DeliveryChange, last: boolean): string {
  const id = last ? `id: ${change.seq}\n` : "";
  return `${id}event: ${CHANGE_EVENT}\ndata: ${JSON.stringify(changeJson(change))}\n\n`;
}
