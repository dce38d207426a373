import { describe, expect, it } from "vitest";
import type { SubscriptionTransition } from "../src/domain/subscription-events.ts";
import { subscriptionFold } from "./subscription.fold.ts";

const t = (second: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, second)).toISOString();
const failed = (second: number, gone = false): SubscriptionTransition => ({
  type: "delivery.failed",
  at: t(second),
  data: { deliveryId: `dlv_${second}`, gone },
});
const recovered = (second: number): SubscriptionTransition => ({
  type: "delivery.recovered",
  at: t(second),
  data: { deliveryId: `dlv_${second}` },
});
const verified = (second: number, expiresAt: number | null = 1_000): SubscriptionTransition => ({
  type: "verification.succeeded",
  at: t(second),
  data: { expiresAt },
});
const paused = (second: number): SubscriptionTransition => ({
  type: "subscription.paused",
  at: t(second),
  data: { reason: "deactivated by owner" },
});
const resumed = (second: number): SubscriptionTransition => ({ type: "subscription.resumed", at: t(second), data: {} });
const expired = (second: number): SubscriptionTransition => ({ type: "lease.expired", at: t(second), data: {} });
const unsubscribed = (second: number): SubscriptionTransition => ({
  type: "subscription.unsubscribed",
  at: t(second),
  data: { reason: "deleted" },
});

/** given a subscription (REST: active at once; WebSub: waiting for verification) and its past events. */
function given(events: SubscriptionTransition[], options: { websub?: boolean; threshold?: number } = {}) {
  const start = subscriptionFold.initial({
    id: "sub_1",
    needsVerification: options.websub ?? false,
    expiresAt: null,
    failureThreshold: options.threshold ?? 3,
  });
  const { snapshot, rejected } = subscriptionFold.run(start, events);
  expect(rejected).toEqual([]);
  return {
    snapshot,
    when(event: SubscriptionTransition) {
      const next = subscriptionFold.apply(snapshot, event);
      return {
        then: (state: string) => {
          expect(next && subscriptionFold.stateOf(next)).toBe(state);
          return next!;
        },
        thenRefused: () => expect(next).toBeNull(),
      };
    },
  };
}

describe("subscription machine", () => {
  it("a REST subscription is active at once", () =>
    expect(subscriptionFold.stateOf(given([]).snapshot)).toBe("active"));
  it("a WebSub subscription waits for verification of intent", () => {
    const { snapshot } = given([], { websub: true });
    expect(subscriptionFold.stateOf(snapshot)).toBe("pending-verification");
    expect(snapshot.context.statusMessage).toMatch(/verification/);
  });
  it("verification succeeded → active, with the lease", () => {
    const next = given([], { websub: true }).when(verified(1, 5_000)).then("active");
    expect(next.context.expiresAt).toBe(5_000);
    expect(next.context.statusMessage).toBeNull();
  });
  it("verification failed on a new subscription → unsubscribed", () =>
    given([], { websub: true }).when({ type: "verification.failed", at: t(1), data: { reason: "wrong challenge" } })
      .then("unsubscribed"));
  it("an active subscription refuses a failed verification (a failed re-subscribe changes nothing)", () =>
    given([]).when({ type: "verification.failed", at: t(1), data: { reason: "x" } }).thenRefused());
  it("a renewal moves the lease", () => {
    const next = given([]).when({ type: "lease.renewed", at: t(1), data: { expiresAt: 9_000 } }).then("active");
    expect(next.context.expiresAt).toBe(9_000);
  });
  it("failures are counted, and a success after them resets the count", () => {
    expect(given([failed(1), failed(2)]).snapshot.context.consecutiveFailures).toBe(2);
    expect(given([failed(1), failed(2), recovered(3)]).snapshot.context.consecutiveFailures).toBe(0);
  });
  it("the Nth consecutive failure disables it, with a status message", () => {
    const next = given([failed(1), failed(2)]).when(failed(3)).then("disabled");
    expect(next.context.statusMessage).toBe("disabled after 3 consecutive failed deliveries");
  });
  it("a 410 disables it at once", () => {
    const next = given([]).when(failed(1, true)).then("disabled");
    expect(next.context.statusMessage).toMatch(/410 Gone/);
  });
  it("deactivate and activate: active → paused → active", () => {
    given([]).when(paused(1)).then("paused");
    const back = given([paused(1)]).when(resumed(2)).then("active");
    expect(back.context.statusMessage).toBeNull();
  });
  it("re-activating a disabled subscription resets the counter", () => {
    const back = given([failed(1), failed(2), failed(3)]).when(resumed(4)).then("active");
    expect(back.context.consecutiveFailures).toBe(0);
  });
  it("a paused subscription keeps its reason through a lease renewal", () => {
    const next = given([paused(1)]).when({ type: "lease.renewed", at: t(2), data: { expiresAt: 7 } }).then("paused");
    expect(next.context.statusMessage).toMatch(/paused/);
  });
  it("leases expire from active, paused or disabled", () => {
    given([]).when(expired(9)).then("expired");
    given([paused(1)]).when(expired(9)).then("expired");
    given([failed(1, true)]).when(expired(9)).then("expired");
  });
  it("an expired WebSub subscription comes back with a new verification", () =>
    given([expired(9)]).when(verified(10, 20_000)).then("active"));
  it("unsubscribe ends it from any state, for good", () => {
    given([]).when(unsubscribed(1)).then("unsubscribed");
    given([], { websub: true }).when(unsubscribed(1)).then("unsubscribed");
    given([paused(1)]).when(unsubscribed(2)).then("unsubscribed");
    given([unsubscribed(1)]).when(resumed(2)).thenRefused();
  });
  it("a persisted snapshot restores to the same state", () => {
    const { snapshot } = given([failed(1), paused(2)]);
    const restored = subscriptionFold.restore(JSON.parse(JSON.stringify(subscriptionFold.persist(snapshot))));
    expect(subscriptionFold.stateOf(restored)).toBe("paused");
    expect(restored.context).toEqual(snapshot.context);
  });
});
