import { describe, expect, it } from "vitest";
import type { DeliveryChange } from "./delivery-changes.ts";
import { FleetWindow, OTHER_HOSTS, percentile } from "./fleet-window.ts";

const T0 = Date.parse("2026-12-02T10:00:00Z");
let seq = 0;

function change(at: number, from: string | null, to: string, extra: Partial<DeliveryChange> = {}): DeliveryChange {
  const event = to === "delivered" ? "attempt.succeeded" : to === "backoff" || to === "failed" ? "attempt.failed" : "x";
  return {
    seq: ++seq,
    deliveryId: "dlv_1",
    from,
    to,
    event,
    at: new Date(at).toISOString(),
    targetHost: "a.example:443",
    subscriptionId: null,
    ...extra,
  };
}

describe("the fleet window", () => {
  it("counts states entered and transitions over its minutes, and forgets minutes that left it", () => {
    const window = new FleetWindow(2, 10);
    window.add(change(T0, null, "pending"), T0);
    window.add(change(T0 + 1_000, "pending", "in-flight"), T0 + 1_000);
    window.add(change(T0 + 61_000, "in-flight", "delivered", { attempt: { status: 200, latencyMs: 40 } }), T0 + 61_000);
    const now = window.snapshot(T0 + 61_000);
    expect(now.entered).toEqual({ pending: 1, "in-flight": 1, delivered: 1 });
    expect(now.transitions).toContainEqual({ from: null, event: "x", to: "pending", count: 1 });
    expect(now.transitions).toContainEqual({
      from: "in-flight",
      event: "attempt.succeeded",
      to: "delivered",
      count: 1,
    });
    expect(now.minutes.map((m) => m.start)).toEqual(["2026-12-02T10:00:00.000Z", "2026-12-02T10:01:00.000Z"]);
    // At 10:02 the window holds 10:01 and 10:02: the 10:00 minute is gone.
    const later = window.snapshot(T0 + 121_000);
    expect(later.entered).toEqual({ delivered: 1 });
    expect(window.snapshot(T0 + 181_000).entered).toEqual({});
  });

  it("gives each host its success rate and latency percentiles, and counts hosts past the cap as (other)", () => {
    const window = new FleetWindow(5, 1);
    for (let i = 0; i < 9; i++) {
      window.add(change(T0, "in-flight", "delivered", { attempt: { status: 200, latencyMs: 10 } }), T0);
    }
    window.add(change(T0, "in-flight", "backoff", { attempt: { status: 500, latencyMs: 900 } }), T0);
    window.add(
      change(T0, "in-flight", "delivered", { targetHost: "b.example", attempt: { status: 200, latencyMs: 1 } }),
      T0,
    );
    const [a, other] = window.snapshot(T0).hosts;
    expect(a).toMatchObject({ host: "a.example:443", attempts: 10, succeeded: 9, failed: 1, success_rate: 0.9 });
    expect(a!.p50_ms).toBe(10);
    expect(a!.p95_ms).toBe(1_000);
    expect(a!.minutes).toEqual([
      { start: "2026-12-02T10:00:00.000Z", attempts: 10, succeeded: 9, success_rate: 0.9, p50_ms: 10, p95_ms: 1_000 },
    ]);
    expect(other).toMatchObject({ host: OTHER_HOSTS, attempts: 1 });
  });

  it("reads a percentile as its bin's upper bound, the last bin's lower", () => {
    expect(percentile([], 0.5)).toBeNull();
    expect(percentile([0, 0, 4], 0.5)).toBe(5);
    const last = Array.from({ length: 23 }, (_, i) => (i === 22 ? 1 : 0));
    expect(percentile(last, 0.5)).toBe(60_000);
  });
});
