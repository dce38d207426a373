import { describe, expect, it } from "vitest";
import { transition } from "xstate";
import { deliveryMachine } from "./delivery.machine.ts";
import type { DeliveryTransition } from "../src/domain/delivery-events.ts";
import { cancelRequested, failed, retryRequested, started, succeeded, t } from "./testing/delivery-journal.ts";
import {
  applyDeliveryEvent,
  foldDelivery,
  initialDelivery,
  initialDeliveryByTransition,
  persistDelivery,
  restoreDelivery,
  stateOf,
} from "./delivery.fold.ts";

/** given these past events (with an attempt budget), when this event, then this state, or a refusal. */
function given(events: DeliveryTransition[], maxAttempts = 3) {
  const { snapshot, rejected } = foldDelivery({ id: "dlv_test", maxAttempts }, events);
  expect(rejected).toEqual([]);
  return {
    when(event: DeliveryTransition) {
      const next = applyDeliveryEvent(snapshot, event);
      return {
        then: (state: string) => expect(next && stateOf(next)).toBe(state),
        thenRefused: () => expect(next).toBeNull(),
        next,
      };
    },
    state: stateOf(snapshot),
    snapshot,
  };
}

describe("delivery machine", () => {
  it("starts pending", () => {
    expect(stateOf(initialDelivery({ id: "d", maxAttempts: 3 }))).toBe("pending");
  });
  it("the cheap initial snapshot equals XState's initialTransition", () => {
    const cheap = initialDelivery({ id: "d", maxAttempts: 3 });
    const reference = initialDeliveryByTransition({ id: "d", maxAttempts: 3 });
    expect(cheap.value).toEqual(reference.value);
    expect(cheap.context).toEqual(reference.context);
    expect(reference.status).toBe("active");
  });

  it("pending → in-flight when the first attempt starts", () => given([]).when(started(1, 0)).then("in-flight"));
  it("refuses an attempt with the wrong number", () => given([]).when(started(2, 0)).thenRefused());
  it("in-flight → delivered on success", () => given([started(1, 0)]).when(succeeded(1, 1)).then("delivered"));
  it("ignores an outcome for a different attempt", () => given([started(1, 0)]).when(succeeded(2, 1)).thenRefused());
  it("in-flight → backoff on a retryable failure with attempts left", () =>
    given([started(1, 0)]).when(failed(1, 1, 6, { status: 500 })).then("backoff"));
  it("backoff keeps the retry time", () => {
    const { snapshot } = given([started(1, 0), failed(1, 1, 6, { status: 500 })]);
    expect(snapshot.context.retryAt).toBe(Date.parse(t(6)));
    expect(snapshot.context.lastStatus).toBe(500);
  });
  it("backoff refuses an attempt before the retry time (early redelivery)", () =>
    given([started(1, 0), failed(1, 1, 6)]).when(started(2, 5)).thenRefused());
  it("backoff → in-flight once the retry time has come", () =>
    given([started(1, 0), failed(1, 1, 6)]).when(started(2, 6)).then("in-flight"));
  it("in-flight → failed on a permanent failure, attempts left or not", () =>
    given([started(1, 0)]).when(failed(1, 1, 6, { status: 410, permanent: true })).then("failed"));
  it("in-flight → failed when the attempts are exhausted", () =>
    given([started(1, 0), failed(1, 1, 2), started(2, 2), failed(2, 3, 4), started(3, 4)]).when(failed(3, 5, 9)).then(
      "failed",
    ));

  it("records why it gave up", () => {
    const exhausted = given([
      started(1, 0),
      failed(1, 1, 2),
      started(2, 2),
      failed(2, 3, 4),
      started(3, 4),
      failed(3, 5, 9),
    ]);
    expect(exhausted.snapshot.context.failureReason).toBe("exhausted");
    const permanent = given([started(1, 0), failed(1, 1, 2, { status: 410, permanent: true })]);
    expect(permanent.snapshot.context.failureReason).toBe("permanent");
  });

  it("failed → pending on a manual retry, with a fresh budget", () => {
    const exhausted = [started(1, 0), failed(1, 1, 2), started(2, 2), failed(2, 3, 4), started(3, 4), failed(3, 5, 9)];
    given(exhausted).when(retryRequested(10)).then("pending");
    const retried = given([...exhausted, retryRequested(10), started(4, 11), failed(4, 12, 13)]);
    expect(retried.state).toBe("backoff");
    expect(retried.snapshot.context.attempts).toBe(4);
    expect(retried.snapshot.context.roundAttempts).toBe(1);
  });
  it("delivered is final: no retry, no cancel", () => {
    given([started(1, 0), succeeded(1, 1)]).when(retryRequested(2)).thenRefused();
    given([started(1, 0), succeeded(1, 1)]).when(cancelRequested(2)).thenRefused();
  });
  it("pending, in-flight and backoff can be cancelled", () => {
    given([]).when(cancelRequested(0)).then("cancelled");
    given([started(1, 0)]).when(cancelRequested(1)).then("cancelled");
    given([started(1, 0), failed(1, 1, 6)]).when(cancelRequested(2)).then("cancelled");
  });
  it("a cancelled delivery still records the outcome of the attempt that was on the wire", () => {
    const cancelledMidAttempt = given([started(1, 0), cancelRequested(1)]);
    const next = cancelledMidAttempt.when(succeeded(1, 2));
    next.then("cancelled");
    expect(next.next?.context.lastStatus).toBe(200);
  });
  it("a cancelled delivery can be retried by hand", () =>
    given([cancelRequested(0)]).when(retryRequested(1)).then("pending"));
  it("failed refuses a new attempt without a manual retry", () =>
    given([started(1, 0), failed(1, 1, 2, { permanent: true })]).when(started(2, 3)).thenRefused());

  it("a persisted snapshot restores to the same state as a full replay", () => {
    const events = [started(1, 0), failed(1, 1, 6, { status: 503 }), started(2, 6)];
    const { snapshot } = foldDelivery({ id: "d", maxAttempts: 5 }, events);
    const restored = restoreDelivery(JSON.parse(JSON.stringify(persistDelivery(snapshot))));
    expect(stateOf(restored)).toBe("in-flight");
    expect(restored.context).toEqual(snapshot.context);
    expect(stateOf(applyDeliveryEvent(restored, succeeded(2, 7))!)).toBe("delivered");
  });

  it("refuses to restore a journaled state the machine does not have", () => {
    const { snapshot } = foldDelivery({ id: "d", maxAttempts: 3 }, [started(1, 0)]);
    const persisted = { ...persistDelivery(snapshot), state: "in_flight" } as unknown as ReturnType<
      typeof persistDelivery
    >;
    expect(() => restoreDelivery(persisted)).toThrow(/state "in_flight", which the machine does not have/);
  });

  it("every step equals XState's own transition(), refusals included", () => {
    const journals: DeliveryTransition[][] = [
      [started(1, 0), succeeded(1, 1)],
      [
        started(1, 0),
        failed(1, 1, 5),
        started(2, 4),
        started(2, 6),
        failed(2, 7, 9),
        started(3, 60),
        failed(3, 61, 62),
      ],
      [started(1, 0), failed(1, 1, 1, { permanent: true }), retryRequested(2), started(2, 3), succeeded(2, 4)],
      [cancelRequested(0), started(1, 1), retryRequested(2), started(1, 3), cancelRequested(4), succeeded(1, 5)],
      [started(1, 0), cancelRequested(1), succeeded(1, 2), succeeded(2, 3), retryRequested(4), started(2, 5)],
    ];
    for (const journal of journals) {
      let ours = initialDelivery({ id: "d", maxAttempts: 3 });
      let theirs = initialDeliveryByTransition({ id: "d", maxAttempts: 3 });
      for (const event of journal) {
        const next = applyDeliveryEvent(ours, event);
        const [reference] = transition(deliveryMachine, theirs, event);
        expect(next === null, `${event.type} refused alike`).toBe(reference === theirs);
        ours = next ?? ours;
        theirs = reference;
        expect({ value: ours.value, context: ours.context }).toEqual({ value: theirs.value, context: theirs.context });
      }
    }
  });
});
