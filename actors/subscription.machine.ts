import { assign, setup } from "xstate";
import type { SubscriptionTransition } from "../src/domain/subscription-events.ts";

/**
 * The lifecycle of one subscription:
 *
 *   pending-verification ──verification.succeeded──▶ active ⇄ paused   (by hand)
 *          │                                           │  ⇅
 *          │ verification.failed                       │ disabled (N consecutive failures, or 410 Gone)
 *          ▼                                           ▼
 *    unsubscribed ◀──subscription.unsubscribed── any   expired ◀──lease.expired── active | paused | disabled
 *
 * Resuming (from paused or disabled) resets the failure count. Pure, like the delivery machine:
 * times arrive as event data, and folding the journal rebuilds the state.
 */

export type SubscriptionInput = {
  id: string;
  needsVerification: boolean;
  expiresAt: number | null;
  failureThreshold: number;
};

export type SubscriptionContext = {
  id: string;
  expiresAt: number | null;
  failureThreshold: number;
  consecutiveFailures: number;
  /** Why the subscription is not active, when it isn't. */
  statusMessage: string | null;
};

export type SubscriptionState = "pending-verification" | "active" | "paused" | "disabled" | "expired" | "unsubscribed";

export const subscriptionMachine = setup({
  types: {
    context: {} as SubscriptionContext,
    events: {} as SubscriptionTransition,
    input: {} as SubscriptionInput & { verified?: boolean },
  },
  guards: {
    verifiedAtCreation: ({ context }) => context.statusMessage === null,
    isGone: ({ event }) => event.type === "delivery.failed" && event.data.gone,
    reachesThreshold: ({ context, event }) =>
      event.type === "delivery.failed" && context.consecutiveFailures + 1 >= context.failureThreshold,
  },
  actions: {
    setLease: assign({
      expiresAt: (
        { context, event },
      ) => ("expiresAt" in event.data ? (event.data.expiresAt as number | null) : context.expiresAt),
    }),
    markVerified: assign({ statusMessage: null }),
    countFailure: assign({ consecutiveFailures: ({ context }) => context.consecutiveFailures + 1 }),
    resetFailures: assign({ consecutiveFailures: 0 }),
    disableGone: assign({
      consecutiveFailures: ({ context }) => context.consecutiveFailures + 1,
      statusMessage: ({ event }) =>
        `disabled: the endpoint answered 410 Gone to delivery ${
          "deliveryId" in event.data ? event.data.deliveryId : "?"
        }`,
    }),
    disableFailing: assign({
      consecutiveFailures: ({ context }) => context.consecutiveFailures + 1,
      statusMessage: ({ context }) => `disabled after ${context.consecutiveFailures + 1} consecutive failed deliveries`,
    }),
    pause: assign({
      statusMessage: ({ event }) => ("reason" in event.data ? `paused: ${event.data.reason}` : "paused"),
    }),
    resume: assign({ consecutiveFailures: 0, statusMessage: null }),
    expire: assign({ statusMessage: "expired: the lease ended" }),
    unsubscribe: assign({
      statusMessage: ({ event }) => ("reason" in event.data ? `unsubscribed: ${event.data.reason}` : "unsubscribed"),
    }),
  },
}).createMachine({
  id: "subscription",
  initial: "pending-verification",
  context: ({ input }) => ({
    id: input.id,
    expiresAt: input.expiresAt,
    failureThreshold: input.failureThreshold,
    consecutiveFailures: 0,
    // A subscription that needs verification starts with a reason for not being active yet.
    statusMessage: input.needsVerification ? "waiting for verification of intent" : null,
  }),
  on: {
    "subscription.unsubscribed": {
      target: ".unsubscribed",
      actions: "unsubscribe",
      description: "deleted by hand or through the hub, whatever state it is in",
    },
  },
  states: {
    "pending-verification": {
      description:
        "A WebSub subscription waiting for its verification of intent; one that needs none passes straight to active.",
      always: { guard: "verifiedAtCreation", target: "active" },
      on: {
        "verification.succeeded": { target: "active", actions: ["setLease", "markVerified"] },
        "verification.failed": { target: "unsubscribed", actions: "unsubscribe" },
      },
    },
    active: {
      description: "Receives deliveries. Failed ones are counted; a 410 Gone or the failure threshold disables it.",
      on: {
        "lease.renewed": { actions: "setLease" },
        "lease.expired": { target: "expired", actions: "expire" },
        "subscription.paused": { target: "paused", actions: "pause" },
        "delivery.failed": [
          { guard: "isGone", target: "disabled", actions: "disableGone" },
          { guard: "reachesThreshold", target: "disabled", actions: "disableFailing" },
          { actions: "countFailure" },
        ],
        "delivery.recovered": { actions: "resetFailures" },
      },
    },
    paused: {
      description: "Deactivated by hand: receives nothing until it is activated.",
      on: {
        "subscription.resumed": { target: "active", actions: "resume" },
        "lease.renewed": { actions: "setLease" },
        "lease.expired": { target: "expired", actions: "expire" },
      },
    },
    disabled: {
      description:
        "Stopped after a 410 Gone or too many consecutive failed deliveries: receives nothing until it is activated.",
      on: {
        "subscription.resumed": { target: "active", actions: "resume" },
        "subscription.paused": { target: "paused", actions: "pause" },
        "lease.expired": { target: "expired", actions: "expire" },
      },
    },
    expired: {
      description: "Its WebSub lease ran out: receives nothing until the subscriber verifies again.",
      // A WebSub re-subscribe after expiry verifies again and brings the subscription back.
      on: { "verification.succeeded": { target: "active", actions: ["setLease", "resume"] } },
    },
    unsubscribed: {
      type: "final",
      description: "Deleted, unsubscribed through the hub, or its verification failed. Final.",
    },
  },
});
