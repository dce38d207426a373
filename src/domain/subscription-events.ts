import { z } from "zod";

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
