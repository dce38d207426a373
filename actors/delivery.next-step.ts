import { type DeliverySnapshot, stateOf } from "./delivery.fold.ts";

/**
 * What a worker does with a delivery's work message, given the delivery's newest state and the time.
 * NATS holds every timer, so waiting is a nak for the time that remains; and a worker that died
 * mid-attempt leaves an in-flight state older than the lease, which only the journal can reveal.
 */

export type NextStep =
  /** Delivered, failed or cancelled: nothing is left to do with this message. */
  | { kind: "ack" }
  /** Not yet: the retry is not due (NATS redelivered early), or another worker's attempt is within its lease. */
  | { kind: "nak"; delayMs: number; until: "retry-due" | "lease-expired" }
  /** Pending, or in backoff with the retry due: make the next attempt. */
  | { kind: "attempt" }
  /** The attempt on the wire outlived its lease: its worker stopped before recording the outcome. */
  | { kind: "record-interrupted" };

export function nextStep(snapshot: DeliverySnapshot, now: number, leaseMs: number): NextStep {
  const { context } = snapshot;
  switch (stateOf(snapshot)) {
    case "delivered":
    case "failed":
    case "cancelled":
      return { kind: "ack" };
    case "backoff":
      if (context.retryAt !== null && now < context.retryAt) {
        return { kind: "nak", delayMs: context.retryAt - now, until: "retry-due" };
      }
      return { kind: "attempt" };
    case "pending":
      return { kind: "attempt" };
    case "in-flight": {
      const age = now - (context.inFlightSince ?? 0);
      if (age < leaseMs) return { kind: "nak", delayMs: leaseMs - age, until: "lease-expired" };
      return { kind: "record-interrupted" };
    }
  }
}
