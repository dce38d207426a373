import { z } from "zod";
import type { AttemptRecord, AttemptResolved, DeliveryTransition } from "./delivery-events.ts";

/**
 * The public, snake_case shape of a delivery journal's events. The journal keeps each event as the
 * machine reads it (camelCase data such as `latencyMs`, `retryAt`); every JSON answer that shows
 * one (a delivery's history and attempts, a subscription's attempt list) maps it here, so the API
 * names each field once and the journal's format can stay as it is.
 */

const HeaderMapSchema = z.record(z.string(), z.string());

export const AttemptRequestViewSchema = z.object({ method: z.string(), url: z.string(), headers: HeaderMapSchema })
  .describe("what was sent, signature headers included");

export const AttemptResponseViewSchema = z.object({
  status: z.number().int(),
  headers: HeaderMapSchema,
  body: z.string().describe("the first 64 KiB, as UTF-8"),
  body_truncated: z.boolean(),
});

/** An attempt the receiver answered (or didn't): the data of attempt.succeeded and attempt.failed. */
export const AttemptRecordViewSchema = z.object({
  attempt: z.number().int(),
  request: AttemptRequestViewSchema,
  response: AttemptResponseViewSchema.nullable(),
  latency_ms: z.number(),
  error: z.string().nullable(),
});
export type AttemptRecordView = z.infer<typeof AttemptRecordViewSchema>;

export const AttemptStartedViewSchema = z.object({
  attempt: z.number().int(),
  worker: z.string().nullable().describe("the hookd instance that made the attempt"),
});

export const AttemptFailedViewSchema = AttemptRecordViewSchema.extend({
  permanent: z.boolean().describe("the failure cannot heal by retrying (410 Gone, a forbidden target)"),
  retry_at: z.string().describe("when the next attempt falls due, if attempts remain"),
});

export const ManualRequestViewSchema = z.object({
  bulk_job: z.string().optional().describe("the bulk job that asked for this retry or cancel"),
});

/** One resolved attempt in a subscription's attempt list (GET /api/v1/subscriptions/<id>/attempts). */
export const AttemptSummarySchema = z.object({
  delivery_id: z.string(),
  attempt: z.number().int(),
  at: z.string(),
  outcome: z.enum(["succeeded", "failed"]),
  latency_ms: z.number(),
  request: AttemptRequestViewSchema,
  response: AttemptResponseViewSchema.nullable(),
  error: z.string().nullable(),
});
export type AttemptSummary = z.infer<typeof AttemptSummarySchema>;

/** A resolved attempt of delivery `deliveryId` as the subscription's attempt list shows it; its field order is part of the contract. */
export function summarizeAttempt(deliveryId: string, outcome: AttemptResolved): AttemptSummary {
  const view = attemptRecordView(outcome.data);
  return {
    delivery_id: deliveryId,
    attempt: view.attempt,
    at: outcome.at,
    outcome: outcome.type === "attempt.succeeded" ? "succeeded" : "failed",
    latency_ms: view.latency_ms,
    request: view.request,
    response: view.response,
    error: view.error,
  };
}

/** The data of a transition in a delivery's history, by event type. */
export type TransitionDataView =
  | z.infer<typeof AttemptStartedViewSchema>
  | AttemptRecordView
  | z.infer<typeof AttemptFailedViewSchema>
  | z.infer<typeof ManualRequestViewSchema>;

export function attemptRecordView(data: AttemptRecord): AttemptRecordView {
  const response = data.response;
  return {
    attempt: data.attempt,
    request: data.request,
    response: response
      ? {
        status: response.status,
        headers: response.headers,
        body: response.body,
        body_truncated: response.bodyTruncated,
      }
      : null,
    latency_ms: data.latencyMs,
    error: data.error ?? null,
  };
}

export function transitionDataView(event: DeliveryTransition): TransitionDataView {
  switch (event.type) {
    case "attempt.started":
      return { attempt: event.data.attempt, worker: event.data.worker ?? null };
    case "attempt.succeeded":
      return attemptRecordView(event.data);
    case "attempt.failed":
      return { ...attemptRecordView(event.data), permanent: event.data.permanent, retry_at: event.data.retryAt };
    case "delivery.retry-requested":
    case "delivery.cancel-requested":
      return event.data.bulkJob === undefined ? {} : { bulk_job: event.data.bulkJob };
  }
}
