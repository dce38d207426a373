import { describe, expect, it } from "vitest";
import type { DeliveryTransition } from "../src/domain/delivery-events.ts";
import { cancelRequested, failed, ms, retryRequested, started, succeeded } from "./testing/delivery-journal.ts";
import { attemptStarted } from "./delivery.attempt-events.ts";
import { applyDeliveryEvent, foldDelivery } from "./delivery.fold.ts";
import { type NextStep, nextStep } from "./delivery.next-step.ts";

const LEASE_MS = 30_000;
/** given these past events, when the worker looks at the second `second` (with a lease), then this step. */
function given(events: DeliveryTransition[], maxAttempts = 3) {
  const { snapshot, rejected } = foldDelivery({ id: "dlv_test", maxAttempts }, events);
  expect(rejected).toEqual([]);
  return {
    snapshot,
    whenItIs(second: number, leaseMs = LEASE_MS) {
      const step = nextStep(snapshot, ms(second), leaseMs);
      return { then: (expected: NextStep) => expect(step).toEqual(expected), step };
    },
  };
}

describe("the next step for a delivery's work message", () => {
  it("pending: attempt", () => given([]).whenItIs(0).then({ kind: "attempt" }));
  it("pending again after a manual retry: attempt", () =>
    given([started(1, 0), failed(1, 1, 2, { permanent: true }), retryRequested(3)]).whenItIs(4).then({
      kind: "attempt",
    }));

  describe("backoff", () => {
    const backoff = [started(1, 0), failed(1, 1, 6)];
    it("before the retry time (NATS redelivered early): nak for the time that remains", () =>
      given(backoff).whenItIs(4).then({ kind: "nak", delayMs: 2_000, until: "retry-due" }));
    it("at the retry time: attempt", () => given(backoff).whenItIs(6).then({ kind: "attempt" }));
    it("after the retry time (a late redelivery): attempt", () =>
      given(backoff).whenItIs(60).then({ kind: "attempt" }));
  });

  describe("in-flight", () => {
    const inFlight = [started(1, 10)];
    it("within the lease (another worker is on it): nak until the lease runs out", () =>
      given(inFlight).whenItIs(15).then({ kind: "nak", delayMs: 25_000, until: "lease-expired" }));
    it("once the lease has run out (its worker died): record the attempt as interrupted", () =>
      given(inFlight).whenItIs(40).then({ kind: "record-interrupted" }));
    it("the lease is the caller's: a shorter one expires sooner", () =>
      given(inFlight).whenItIs(15, 5_000).then({ kind: "record-interrupted" }));
    it("a retried attempt's lease runs from its own start", () =>
      given([started(1, 0), failed(1, 1, 2), started(2, 20)]).whenItIs(40).then({
        kind: "nak",
        delayMs: 10_000,
        until: "lease-expired",
      }));
  });

  describe("finished: ack, whatever the time", () => {
    it("delivered", () => given([started(1, 0), succeeded(1, 1)]).whenItIs(2).then({ kind: "ack" }));
    it("failed for good", () =>
      given([started(1, 0), failed(1, 1, 2, { permanent: true })]).whenItIs(2).then({ kind: "ack" }));
    it("failed with the attempts used up", () =>
      given([started(1, 0), failed(1, 1, 2)], 1).whenItIs(2).then({ kind: "ack" }));
    it("cancelled, even with an attempt on the wire", () =>
      given([started(1, 0), cancelRequested(1)]).whenItIs(2).then({ kind: "ack" }));
  });

  it("agrees with the machine on when a retry is due", () => {
    const { snapshot } = given([started(1, 0), failed(1, 1, 6)]);
    for (const second of [5, 6, 7]) {
      const step = nextStep(snapshot, ms(second), LEASE_MS);
      const accepted = applyDeliveryEvent(snapshot, attemptStarted(snapshot, "worker-a", ms(second))) !== null;
      expect({ second, attempt: step.kind === "attempt" }).toEqual({ second, attempt: accepted });
    }
  });
});
