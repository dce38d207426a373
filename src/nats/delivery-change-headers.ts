import type { DeliveryCreated, DeliveryTransition } from "../domain/delivery-events.ts";
import type { DeliveryChange } from "../domain/delivery-changes.ts";

/**
 * What a delivery's journal message says about itself in headers, so that the change feed (and
 * anything listing deliveries) can read it headers-only, never the body with its request and
 * snapshot. A transition message says the state it left and each step's event and new state; a
 * created message says only who it is for. Both say the target host and the subscription.
 */

export const STATE_HEADER = "Hookd-State";
/**
 * On every created event: what the delivery list shows and filters on (domain/delivery-listing.ts), as
 * JSON. A transitions message that holds its delivery's created event (decision record 26) has it too.
 */
export const LISTING_HEADER = "Hookd-Listing";
const FROM_HEADER = "Hookd-From";
/** `event>state` for each step, space-separated: `attempt.started>in-flight attempt.succeeded>delivered`. */
const STEPS_HEADER = "Hookd-Steps";
const TARGET_HEADER = "Hookd-Target";
const SUBSCRIPTION_HEADER = "Hookd-Subscription";
/** An attempt's outcome in the message: `<status or -> <latency ms>`. */
const ATTEMPT_HEADER = "Hookd-Attempt";

/** Who a delivery is for, as the change feed names it. */
export type DeliveryTags = { targetHost: string | null; subscriptionId: string | null };

export function tagsOf(created: DeliveryCreated): DeliveryTags {
  let targetHost: string | null = null;
  try {
    targetHost = new URL(created.data.request.url).host;
  } catch {
    // A URL the ingest accepted always parses; an old or odd entry just has no host to show.
  }
  return { targetHost, subscriptionId: created.data.subscriptionId ?? null };
}

function tagHeaders(tags: DeliveryTags): Record<string, string> {
  const headers: Record<string, string> = {};
  if (tags.targetHost) headers[TARGET_HEADER] = tags.targetHost;
  if (tags.subscriptionId) headers[SUBSCRIPTION_HEADER] = tags.subscriptionId;
  return headers;
}

export function createdHeaders(created: DeliveryCreated): Record<string, string> {
  return tagHeaders(tagsOf(created));
}

export function transitionHeaders(
  from: string,
  steps: readonly { event: DeliveryTransition; after: { state: string } }[],
  tags: DeliveryTags,
): Record<string, string> {
  const headers: Record<string, string> = { ...tagHeaders(tags), [FROM_HEADER]: from };
  headers[STEPS_HEADER] = steps.map((step) => `${step.event.type}>${step.after.state}`).join(" ");
  const outcome = steps.find((step) => step.event.type === "attempt.succeeded" || step.event.type === "attempt.failed");
  if (outcome && (outcome.event.type === "attempt.succeeded" || outcome.event.type === "attempt.failed")) {
    const status = outcome.event.data.response?.status;
    headers[ATTEMPT_HEADER] = `${status ?? "-"} ${Math.round(outcome.event.data.latencyMs)}`;
  }
  return headers;
}

export type JournalMessageHead = {
  kind: "delivery-created" | "delivery-transitions";
  id: string;
  seq: number;
  time: Date;
  header: (name: string) => string | undefined;
};

/**
 * The changes one journal message records, from its headers alone. A transition message written
 * before these headers existed has only its new state: it becomes one change from an unknown state.
 */
export function changesOfMessage(message: JournalMessageHead): DeliveryChange[] {
  const at = message.time.toISOString();
  const base = {
    seq: message.seq,
    deliveryId: message.id,
    at,
    targetHost: message.header(TARGET_HEADER) || null,
    subscriptionId: message.header(SUBSCRIPTION_HEADER) || null,
  };
  const created: DeliveryChange = { ...base, from: null, to: "pending", event: "delivery.created" };
  if (message.kind === "delivery-created") return [created];
  const steps = (message.header(STEPS_HEADER) ?? "").split(" ").filter((step) => step.includes(">"));
  // A batched delivery's first message holds its created event too (decision record 26).
  const withCreated = message.header(LISTING_HEADER) ? [created] : [];
  if (steps.length === 0 && withCreated.length > 0) return withCreated;
  if (steps.length === 0) {
    return [{ ...base, from: null, to: message.header(STATE_HEADER) ?? "pending", event: "unknown" }];
  }
  const attempt = attemptOf(message.header(ATTEMPT_HEADER));
  let from: string | null = message.header(FROM_HEADER) || null;
  return [
    ...withCreated,
    ...steps.map((step) => {
      const [event, to] = step.split(">") as [string, string];
      const change: DeliveryChange = { ...base, from, to, event };
      if (attempt && (event === "attempt.succeeded" || event === "attempt.failed")) change.attempt = attempt;
      from = to;
      return change;
    }),
  ];
}

function attemptOf(value: string | undefined): DeliveryChange["attempt"] | undefined {
  if (!value) return undefined;
  const [status, latency] = value.split(" ");
  const latencyMs = Number(latency);
  if (!Number.isFinite(latencyMs)) return undefined;
  const code = Number(status);
  return { status: status === "-" || !Number.isInteger(code) ? null : code, latencyMs };
}
