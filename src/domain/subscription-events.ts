import { z } from "zod";
import { DIALECTS } from "./signing-dialect.ts";

/**
 * The events a subscription's journal holds. Lifecycle facts only, each with its time; delivery
 * successes are journaled only when they end a run of failures, so a healthy subscription's
 * journal stays quiet.
 */

export const SubscriptionCreatedSchema = z.object({
  type: z.literal("subscription.created"),
  at: z.string(),
  data: z.object({
    id: z.string(),
    /** WebSub subscriptions wait for verification of intent; REST and static ones are active at once. */
    needsVerification: z.boolean(),
    /** Epoch ms when the lease ends; null for subscriptions without a lease. */
    expiresAt: z.number().nullable(),
    /** Consecutive failed deliveries after which the subscription is disabled. */
    failureThreshold: z.number().int().positive(),
  }),
});
export type SubscriptionCreated = z.infer<typeof SubscriptionCreatedSchema>;

const at = z.string();
export const SubscriptionTransitionSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("verification.succeeded"), at, data: z.object({ expiresAt: z.number().nullable() }) }),
  z.object({ type: z.literal("verification.failed"), at, data: z.object({ reason: z.string() }) }),
  z.object({ type: z.literal("lease.renewed"), at, data: z.object({ expiresAt: z.number().nullable() }) }),
  z.object({ type: z.literal("lease.expired"), at, data: z.object({}) }),
  z.object({ type: z.literal("subscription.paused"), at, data: z.object({ reason: z.string() }) }),
  z.object({ type: z.literal("subscription.resumed"), at, data: z.object({}) }),
  z.object({ type: z.literal("subscription.unsubscribed"), at, data: z.object({ reason: z.string() }) }),
  z.object({ type: z.literal("delivery.failed"), at, data: z.object({ deliveryId: z.string(), gone: z.boolean() }) }),
  z.object({ type: z.literal("delivery.recovered"), at, data: z.object({ deliveryId: z.string() }) }),
]);
export type SubscriptionTransition = z.infer<typeof SubscriptionTransitionSchema>;

/** A subscription's settings: what the REST API, WebSub and the config file set, and fan-out reads. */
export const SubscriptionConfigSchema = z.object({
  topic: z.string(),
  recursive: z.boolean(),
  url: z.string(),
  /** Signing secrets, newest first; an old one keeps signing until its expiry during a rotation. */
  secrets: z.array(z.object({ secret: z.string(), expiresAt: z.number().nullable() })),
  eventTypes: z.array(z.string()).nullable(),
  owner: z.string().nullable(),
  description: z.string().nullable(),
  headers: z.record(z.string(), z.string()),
  dialect: z.enum(DIALECTS),
  retrySchedule: z.array(z.number().int().nonnegative()).nullable(),
  /** Deliveries per second at most, across all instances; null for no limit. */
  rateLimit: z.number().positive().nullable().default(null),
  metadata: z.record(z.string(), z.string()),
  source: z.enum(["api", "websub", "config"]),
  /** One event at a time, in topic-log order; stored only when true, so older subscriptions read as before. */
  ordered: z.literal(true).optional(),
  /** Each delivery's report once it is delivered or failed; left out when unset (older entries have neither). */
  callbackUrl: z.string().optional(),
  /** Each failed delivery's report, and the subscription's own when it is disabled. */
  errbackUrl: z.string().optional(),
});
export type SubscriptionConfig = z.infer<typeof SubscriptionConfigSchema>;

/** Journal entries that change settings, not the lifecycle; the machine never sees them. */
export const SubscriptionUpdatedSchema = z.object({
  type: z.literal("subscription.updated"),
  at: z.string(),
  data: z.object({ changed: z.array(z.string()) }),
});
export type SubscriptionUpdated = z.infer<typeof SubscriptionUpdatedSchema>;
