import { z } from "zod";
import { DIALECTS } from "./signing-dialect.ts";

/**
 * The events a delivery's journal holds. Each one is a fact with its data (time, attempt number,
 * outcome), so folding them through the delivery machine rebuilds the same state on any instance.
 */

export const HeadersSchema = z.record(z.string(), z.string());
export type Headers = z.infer<typeof HeadersSchema>;

export const DeliveryRequestSchema = z.object({
  url: z.string(),
  method: z.string(),
  headers: HeadersSchema,
  /** Body bytes, base64: the journal is JSON and bodies may be binary. */
  body: z.string(),
});
export type DeliveryRequest = z.infer<typeof DeliveryRequestSchema>;

/** What a report delivery reports on: a delivery that ended, or a subscription that was disabled. */
export const ReportOfSchema = z.object({
  kind: z.enum(["callback", "errback"]),
  deliveryId: z.string().optional(),
  subscriptionId: z.string().optional(),
});
export type ReportOf = z.infer<typeof ReportOfSchema>;

export const DELIVERY_SOURCES = ["dispatch", "api", "fan-out", "report"] as const;

export const DeliveryCreatedSchema = z.object({
  type: z.literal("delivery.created"),
  at: z.string(),
  data: z.object({
    id: z.string(),
    request: DeliveryRequestSchema,
    /** Delays between attempts, fixed when the delivery is accepted so later config changes don't rewrite its history. */
    schedule: z.array(z.number().int().nonnegative()),
    /** Standard Webhooks secrets; never shown by the API. */
    secrets: z.array(z.string()),
    source: z.enum(DELIVERY_SOURCES),
    idempotencyKey: z.string().optional(),
    /** With a key: the digest of the request as sent (domain/idempotency.ts), so a reuse of the key with another request is told apart. */
    requestDigest: z.string().optional(),
    /** For fan-out: the body is the topic log's event at this sequence, stored once for every subscriber. */
    bodyRef: z.object({ topicSeq: z.number().int().positive(), eventId: z.string() }).optional(),
    subscriptionId: z.string().optional(),
    /** At most this many attempts per second under this key (the subscription), across all instances. */
    rateLimit: z.object({ key: z.string(), perSecond: z.number().positive() }).optional(),
    /** How the request is signed: Standard Webhooks (default), WebSub's X-Hub-Signature, or not at all. */
    dialect: z.enum(DIALECTS).optional(),
    /** The head of an ordered subscription's line: once it is delivered or finally failed, the line moves on. */
    ordered: z.literal(true).optional(),
    /** Where to POST a report once the delivery is delivered or failed. */
    callbackUrl: z.string().optional(),
    /** Where to POST a report if the delivery fails. */
    errbackUrl: z.string().optional(),
    /** A report delivery: what it reports on (a report never has reports of its own). */
    reportOf: ReportOfSchema.optional(),
  }),
});
export type DeliveryCreated = z.infer<typeof DeliveryCreatedSchema>;

export const AttemptRecordSchema = z.object({
  attempt: z.number().int().positive(),
  request: z.object({ method: z.string(), url: z.string(), headers: HeadersSchema }),
  response: z
    .object({
      status: z.number().int(),
      headers: HeadersSchema,
      body: z.string(),
      bodyTruncated: z.boolean(),
    })
    .optional(),
  latencyMs: z.number().nonnegative(),
  error: z.string().optional(),
});
export type AttemptRecord = z.infer<typeof AttemptRecordSchema>;

export const AttemptStartedSchema = z.object({
  type: z.literal("attempt.started"),
  at: z.string(),
  data: z.object({
    attempt: z.number().int().positive(),
    /** Which hookd instance made the attempt. */
    worker: z.string().optional(),
  }),
});

export const AttemptSucceededSchema = z.object({
  type: z.literal("attempt.succeeded"),
  at: z.string(),
  data: AttemptRecordSchema,
});

export const AttemptFailedSchema = z.object({
  type: z.literal("attempt.failed"),
  at: z.string(),
  data: AttemptRecordSchema.extend({
    /** The failure can't heal by retrying (410 Gone, forbidden target). */
    permanent: z.boolean(),
    /** When the next attempt falls due if attempts remain; computed with jitter by the runtime. */
    retryAt: z.string(),
  }),
});

/** A retry or cancel by hand; `bulkJob` names the bulk job that asked, so a job taken over can tell what it already did. */
const ManualRequestSchema = z.object({ bulkJob: z.string().optional() });

export const RetryRequestedSchema = z.object({
  type: z.literal("delivery.retry-requested"),
  at: z.string(),
  data: ManualRequestSchema,
});

export const CancelRequestedSchema = z.object({
  type: z.literal("delivery.cancel-requested"),
  at: z.string(),
  data: ManualRequestSchema,
});

export const DeliveryTransitionSchema = z.discriminatedUnion("type", [
  AttemptStartedSchema,
  AttemptSucceededSchema,
  AttemptFailedSchema,
  RetryRequestedSchema,
  CancelRequestedSchema,
]);
export type DeliveryTransition = z.infer<typeof DeliveryTransitionSchema>;
export type AttemptStarted = z.infer<typeof AttemptStartedSchema>;
export type AttemptSucceeded = z.infer<typeof AttemptSucceededSchema>;
export type AttemptFailed = z.infer<typeof AttemptFailedSchema>;
/** How an attempt ended: the event a worker appends once the receiver answered, or didn't. */
export type AttemptResolved = AttemptSucceeded | AttemptFailed;
