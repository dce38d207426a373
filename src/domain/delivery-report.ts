import { sha256 } from "./hashes.ts";
import { DELIVERY_ID_PREFIX, ulid } from "./ids.ts";
import { fromBase64, toBase64, utf8 } from "./bytes.ts";
import type { AttemptResolved, DeliveryCreated, ReportOf } from "./delivery-events.ts";

/**
 * The reports hookd POSTs to a callback or errback URL (issue 13): what a report says, and its
 * delivery's id. A report is itself a delivery whose id is derived from what it reports on (the
 * delivery or subscription, the kind, and the journal sequence of the ending), so whoever creates it
 * again, after a crash or on another instance, names the same delivery and creates nothing new.
 */

export type ReportKind = ReportOf["kind"];

export type LastResponse = { status: number; headers: Record<string, string>; body_base64: string; truncated: boolean };

export type DeliveryEndedReport = {
  type: "delivery.delivered" | "delivery.failed";
  delivery_id: string;
  state: "delivered" | "failed";
  at: string;
  attempts: number;
  subscription_id: string | null;
  target: string;
  last_response: LastResponse | null;
  last_error: string | null;
};

export type SubscriptionDisabledReport = {
  type: "subscription.disabled";
  subscription_id: string;
  reason: string;
  at: string;
  target: string;
};

/** Every report's id: the ending's time, then 80 bits of the hash of what it reports on. */
export async function reportDeliveryId(kind: ReportKind, subject: string, seq: number, atMs: number): Promise<string> {
  const digest = await sha256(utf8(`report\n${kind}\n${subject}\n${seq}`));
  return DELIVERY_ID_PREFIX + ulid(atMs, digest.subarray(0, 10));
}

/** The kinds of report a delivery owes on ending in `state`: a callback either way, an errback on failure. */
export function reportsOwed(created: DeliveryCreated, state: string): { kind: ReportKind; url: string }[] {
  if (created.data.reportOf) return [];
  const owed: { kind: ReportKind; url: string }[] = [];
  if (created.data.callbackUrl && (state === "delivered" || state === "failed")) {
    owed.push({ kind: "callback", url: created.data.callbackUrl });
  }
  if (created.data.errbackUrl && state === "failed") owed.push({ kind: "errback", url: created.data.errbackUrl });
  return owed;
}

export function deliveryEndedReport(
  created: DeliveryCreated,
  ending: { state: "delivered" | "failed"; at: string; attempts: number },
  last: AttemptResolved | null,
): DeliveryEndedReport {
  const response = last?.data.response;
  return {
    type: ending.state === "delivered" ? "delivery.delivered" : "delivery.failed",
    delivery_id: created.data.id,
    state: ending.state,
    at: ending.at,
    attempts: ending.attempts,
    subscription_id: created.data.subscriptionId ?? null,
    target: created.data.request.url,
    last_response: response
      ? {
        status: response.status,
        headers: response.headers,
        body_base64: toBase64(utf8(response.body)),
        truncated: response.bodyTruncated,
      }
      : null,
    last_error: last?.data.error ?? null,
  };
}

/** The created event of a report delivery: a signed JSON POST that never has reports of its own. */
export function reportCreated(input: {
  id: string;
  at: string;
  url: string;
  report: DeliveryEndedReport | SubscriptionDisabledReport;
  reportOf: ReportOf;
  schedule: readonly number[];
  sealedSecrets: readonly string[];
  dialect: DeliveryCreated["data"]["dialect"];
}): DeliveryCreated {
  return {
    type: "delivery.created",
    at: input.at,
    data: {
      id: input.id,
      request: {
        url: input.url,
        method: "POST",
        headers: { "content-type": "application/json", "hookd-report": input.report.type },
        body: toBase64(utf8(JSON.stringify(input.report))),
      },
      schedule: [...input.schedule],
      secrets: [...input.sealedSecrets],
      source: "report",
      ...(input.dialect ? { dialect: input.dialect } : {}),
      reportOf: input.reportOf,
    },
  };
}

type ReportInput = Parameters<typeof reportCreated>[0];

/**
 * The report's created event, made to fit in `maxBytes` (what one NATS message may hold): the last
 * response's body is cut, halving until it fits (and `truncated` says so), then its headers go.
 * A report that did not fit could never be created, and its delivery's ending would wait on it forever.
 */
export function fittedReportCreated(input: ReportInput, maxBytes: number): DeliveryCreated {
  const fits = (created: DeliveryCreated) => utf8(JSON.stringify(created)).byteLength <= maxBytes;
  let created = reportCreated(input);
  const report = input.report;
  if (fits(created) || report.type === "subscription.disabled" || report.last_response === null) return created;
  const response = report.last_response;
  let body = fromBase64(response.body_base64);
  const cut = (lastResponse: LastResponse) =>
    reportCreated({ ...input, report: { ...report, last_response: lastResponse } });
  for (;;) {
    body = body.subarray(0, Math.floor(body.byteLength / 2));
    created = cut({ ...response, body_base64: toBase64(body), truncated: true });
    if (fits(created) || body.byteLength === 0) break;
  }
  return fits(created) ? created : cut({ ...response, headers: {}, body_base64: "", truncated: true });
}

/** One journaled step of a delivery, as far as reports care: its message's sequence, time and the state it left. */
export type JournaledStep = { seq: number; event: { at: string }; after: { state: string } };

const ENDED = new Set(["delivered", "failed"]);

/** The steps that ended the delivery: the last step of a message, in delivered or failed. */
export function endingsOf(steps: readonly JournaledStep[]): JournaledStep[] {
  return steps.filter((step, i) => ENDED.has(step.after.state) && steps[i + 1]?.seq !== step.seq);
}

/** The ids every report of the delivery's endings has (or would have), oldest first. */
export async function reportIdsOf(created: DeliveryCreated, steps: readonly JournaledStep[]): Promise<string[]> {
  const ids: string[] = [];
  for (const ending of endingsOf(steps)) {
    for (const { kind } of reportsOwed(created, ending.after.state)) {
      ids.push(await reportDeliveryId(kind, created.data.id, ending.seq, Date.parse(ending.event.at)));
    }
  }
  return ids;
}
