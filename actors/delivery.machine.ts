import { assign, setup } from "xstate";
import type { DeliveryTransition } from "../src/domain/delivery-events.ts";

/**
 * The lifecycle of one delivery:
 *
 *   pending ──attempt.started──▶ in-flight ──attempt.succeeded──▶ delivered
 *      ▲                           │  ▲
 *      │                 attempt.failed (attempts left)
 *      │                           ▼  │ attempt.started (once retryAt has come)
 *      │                         backoff
 *      │                attempt.failed (permanent, or none left) ──▶ failed
 *      └──────── delivery.retry-requested ──────── failed | cancelled
 *   pending | in-flight | backoff ──delivery.cancel-requested──▶ cancelled
 *
 * Pure: times and outcomes arrive as event data, nothing here reads a clock or does I/O.
 */

export type DeliveryInput = { id: string; maxAttempts: number };

export type DeliveryContext = {
  id: string;
  maxAttempts: number;
  /** Attempts ever started; numbers attempts across manual retries. */
  attempts: number;
  /** Attempts in the current round; a manual retry starts a new round with the full budget. */
  roundAttempts: number;
  /** Epoch ms when the next attempt falls due while in backoff. */
  retryAt: number | null;
  /** Epoch ms when the attempt now on the wire started. */
  inFlightSince: number | null;
  lastStatus: number | null;
  lastError: string | null;
  failureReason: "exhausted" | "permanent" | null;
};

export type DeliveryState = "pending" | "in-flight" | "backoff" | "delivered" | "failed" | "cancelled";
export const DELIVERY_STATES: readonly DeliveryState[] = [
  "pending",
  "in-flight",
  "backoff",
  "delivered",
  "failed",
  "cancelled",
];

const at = (event: { at: string }) => Date.parse(event.at);

export function initialDeliveryContext(input: DeliveryInput): DeliveryContext {
  return {
    id: input.id,
    maxAttempts: input.maxAttempts,
    attempts: 0,
    roundAttempts: 0,
    retryAt: null,
    inFlightSince: null,
    lastStatus: null,
    lastError: null,
    failureReason: null,
  };
}

function outcomeOf(event: DeliveryTransition) {
  if (event.type !== "attempt.succeeded" && event.type !== "attempt.failed") return {};
  return { lastStatus: event.data.response?.status ?? null, lastError: event.data.error ?? null };
}

export const deliveryMachine = setup({
  types: {
    context: {} as DeliveryContext,
    events: {} as DeliveryTransition,
    input: {} as DeliveryInput,
  },
  guards: {
    isNextAttempt: ({ context, event }) =>
      event.type === "attempt.started" && event.data.attempt === context.attempts + 1,
    isNextAttemptAndDue: ({ context, event }) =>
      event.type === "attempt.started" && event.data.attempt === context.attempts + 1 &&
      at(event) >= (context.retryAt ?? 0),
    isCurrentAttempt: ({ context, event }) =>
      (event.type === "attempt.succeeded" || event.type === "attempt.failed") &&
      event.data.attempt === context.attempts,
    isPermanentFailure: ({ context, event }) =>
      event.type === "attempt.failed" && event.data.attempt === context.attempts && event.data.permanent,
    hasAttemptsLeft: ({ context, event }) =>
      event.type === "attempt.failed" && event.data.attempt === context.attempts &&
      context.roundAttempts < context.maxAttempts,
  },
  actions: {
    startAttempt: assign(({ context, event }) => ({
      attempts: context.attempts + 1,
      roundAttempts: context.roundAttempts + 1,
      inFlightSince: at(event),
      retryAt: null,
    })),
    recordSuccess: assign(({ event }) => ({ ...outcomeOf(event), inFlightSince: null })),
    scheduleRetry: assign(({ event }) => ({
      ...outcomeOf(event),
      inFlightSince: null,
      retryAt: event.type === "attempt.failed" ? Date.parse(event.data.retryAt) : null,
    })),
    giveUpPermanently: assign(({ event }) => ({
      ...outcomeOf(event),
      inFlightSince: null,
      failureReason: "permanent" as const,
    })),
    giveUpExhausted: assign(({ event }) => ({
      ...outcomeOf(event),
      inFlightSince: null,
      failureReason: "exhausted" as const,
    })),
    // An attempt that was already on the wire when the delivery was cancelled still gets its outcome recorded.
    recordLateOutcome: assign(({ event }) => ({ ...outcomeOf(event), inFlightSince: null })),
    startNewRound: assign({ roundAttempts: 0, retryAt: null, failureReason: null }),
    stopRetrying: assign({ retryAt: null }),
  },
}).createMachine({
  id: "delivery",
  initial: "pending",
  context: ({ input }) => initialDeliveryContext(input),
  // The descriptions travel with the definition: GET /api/v1/machines/delivery serves them in every format.
  states: {
    pending: {
      description: "Accepted; waiting for a worker to start the next attempt.",
      on: {
        "attempt.started": { guard: "isNextAttempt", target: "in-flight", actions: "startAttempt" },
        "delivery.cancel-requested": { target: "cancelled" },
      },
    },
    "in-flight": {
      description: "An attempt is on the wire; its outcome decides what follows.",
      on: {
        "attempt.succeeded": { guard: "isCurrentAttempt", target: "delivered", actions: "recordSuccess" },
        "attempt.failed": [
          { guard: "isPermanentFailure", target: "failed", actions: "giveUpPermanently" },
          { guard: "hasAttemptsLeft", target: "backoff", actions: "scheduleRetry" },
          { guard: "isCurrentAttempt", target: "failed", actions: "giveUpExhausted" },
        ],
        "delivery.cancel-requested": { target: "cancelled" },
      },
    },
    backoff: {
      description:
        "Waiting until retryAt for the next attempt: a NATS message handed back with a delay, no timer or actor in hookd.",
      on: {
        "attempt.started": { guard: "isNextAttemptAndDue", target: "in-flight", actions: "startAttempt" },
        "delivery.cancel-requested": { target: "cancelled", actions: "stopRetrying" },
      },
    },
    delivered: {
      type: "final",
      description: "The receiver answered 2xx. Final: nothing leaves this state.",
    },
    failed: {
      description: "Gave up: the attempts ran out, or one failed for good (410 Gone, a forbidden target). " +
        "No attempt starts from here; only a manual retry leaves it, for a new round of attempts.",
      on: { "delivery.retry-requested": { target: "pending", actions: "startNewRound" } },
    },
    cancelled: {
      description: "Cancelled by hand: no attempt starts from here. An attempt already on the wire still has its " +
        "start and outcome recorded, and the delivery stays cancelled. Only a manual retry leaves it.",
      on: {
        "delivery.retry-requested": { target: "pending", actions: "startNewRound" },
        "attempt.started": {
          guard: "isNextAttempt",
          actions: "startAttempt",
          description: "an attempt that went on the wire before it was journaled and the cancel landed meanwhile; " +
            "it stays cancelled",
        },
        "attempt.succeeded": {
          guard: "isCurrentAttempt",
          actions: "recordLateOutcome",
          description: "the outcome of an attempt that was on the wire when it was cancelled; it stays cancelled",
        },
        "attempt.failed": {
          guard: "isCurrentAttempt",
          actions: "recordLateOutcome",
          description: "the outcome of an attempt that was on the wire when it was cancelled; it stays cancelled",
        },
      },
    },
  },
});
