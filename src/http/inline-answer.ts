import type { Context } from "hono";
import { utf8 } from "../domain/bytes.ts";
import { passedResponseHeaders } from "../domain/inline-answer-headers.ts";
import type { WaitPreference } from "../domain/prefer-wait.ts";
import type { FirstAttemptWait } from "../nats/first-attempt-watch.ts";
import { deliveryPath } from "./api-links.ts";

/**
 * Inline mode's answer. When the first attempt finished within the wait, the receiver's answer as
 * the journal recorded it: its status, the headers domain/inline-answer-headers.ts lets through, and
 * its body (the first RESPONSE_BODY_LIMIT bytes, as text; Hookd-Response-Truncated says when cut);
 * an attempt that got no answer is a 502 problem (504 for a timeout). When the wait ran out, today's
 * 202 with the id, and `Preference-Applied: respond-async, wait=N` says hookd went asynchronous.
 * Every answer names the delivery and its state right after the attempt (Hookd-Delivery-*), and a
 * replayed Idempotency-Key says so (Idempotent-Replayed), as the answer without a wait does.
 */

const NULL_BODY_STATUSES = new Set([204, 205, 304]);

function deliveryHeaders(id: string, state: string, wait: WaitPreference): Record<string, string> {
  return {
    "hookd-delivery-id": id,
    "hookd-delivery-state": state,
    "preference-applied": `wait=${wait.applied}`,
    "vary": "Prefer",
  };
}

export function inlineAnswer(
  c: Context,
  id: string,
  wait: WaitPreference,
  result: FirstAttemptWait,
  accepted: Record<string, string>,
): Response {
  const own = deliveryHeaders(id, result.state, wait);
  // A replayed Idempotency-Key says so whichever answer it gets.
  const replayed = accepted["idempotent-replayed"];
  if (replayed !== undefined) own["idempotent-replayed"] = replayed;
  if (!result.finished) {
    own["preference-applied"] = `respond-async, wait=${wait.applied}`;
    return c.json({ id }, 202, { ...accepted, ...own });
  }
  const response = result.outcome.data.response;
  if (!response || response.status < 200 || response.status > 599) {
    return unreachable(id, result.outcome.data.error ?? "no answer", own);
  }
  const headers = new Headers(passedResponseHeaders(response.headers));
  for (const [name, value] of Object.entries(own)) headers.set(name, value);
  // The receiver's body is served from hookd's origin: a browser must not run or sniff it there.
  headers.set("x-content-type-options", "nosniff");
  headers.set("content-security-policy", "sandbox");
  if (response.bodyTruncated) headers.set("hookd-response-truncated", "true");
  const body = NULL_BODY_STATUSES.has(response.status) || response.body === "" ? null : utf8(response.body);
  // Untyped, a body would be served as text/plain by the Node adapter; HTTP takes an untyped body as octet-stream.
  if (body !== null && !headers.has("content-type")) headers.set("content-type", "application/octet-stream");
  return new Response(body, { status: response.status, headers });
}

function unreachable(id: string, error: string, own: Record<string, string>): Response {
  const status = error.startsWith("timed out") ? 504 : 502;
  const problem = {
    type: "urn:hookd:problem:no-answer",
    title: "The receiver did not answer the first attempt",
    status,
    detail: `${error}. The delivery goes on as usual (see Hookd-Delivery-State); follow it at ${deliveryPath(id)}.`,
    instance: deliveryPath(id),
  };
  return new Response(JSON.stringify(problem), {
    status,
    headers: { "content-type": "application/problem+json", ...own },
  });
}
