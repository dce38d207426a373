import { describe, expect, it } from "vitest";
import { applyDeliveryEvent, initialDelivery, persistDelivery } from "../../actors/delivery.fold.ts";
import { failed, started, succeeded, t } from "../../actors/testing/delivery-journal.ts";
import type { DeliveryCreated, DeliveryTransition } from "../domain/delivery-events.ts";
import type { StoredTransition } from "../nats/delivery-store.ts";
import { buildDeliveryView } from "../runtime/delivery-view.ts";
import { formatTimeline } from "./timeline.ts";

// The CLI reads the API's JSON: building that JSON with the API's own view keeps the two in the same names.

const created: DeliveryCreated = {
  type: "delivery.created",
  at: t(0),
  data: {
    id: "dlv_01KAAAAAAAAAAAAAAAAAAAAAAA",
    request: { url: "https://example.com/hook", method: "POST", headers: {}, body: "aGk=" },
    schedule: [5_000],
    secrets: [],
    source: "api",
  },
};

function stored(events: DeliveryTransition[]): StoredTransition[] {
  let snapshot = initialDelivery({ id: created.data.id, maxAttempts: 2 });
  return events.map((event, index) => {
    snapshot = applyDeliveryEvent(snapshot, event)!;
    return { seq: index + 2, time: new Date(event.at), event, after: persistDelivery(snapshot) };
  });
}

describe("hookd inspect's timeline", () => {
  it("shows each attempt's status, latency and retry time from the delivery JSON", () => {
    const view = buildDeliveryView(
      { seq: 1, event: created },
      stored([started(1, 1), failed(1, 2, 7, { status: 500 }), started(2, 7), succeeded(2, 8)]),
    );
    const lines = formatTimeline(view).split("\n");
    expect(lines[0]).toBe("dlv_01KAAAAAAAAAAAAAAAAAAAAAAA  POST https://example.com/hook");
    expect(lines[3]).toMatch(
      /delivery\.created\s+→ pending\s+POST https:\/\/example\.com\/hook \(2 bytes, unsigned\)$/,
    );
    expect(lines[5]).toMatch(/attempt 1: HTTP 500 in 12ms; next attempt at 2026-01-01T00:00:07\.000Z$/);
    expect(lines[7]).toMatch(/attempt 2: HTTP 200 in 12ms$/);
  });
});
