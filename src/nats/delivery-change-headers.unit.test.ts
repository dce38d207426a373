import { describe, expect, it } from "vitest";
import type { DeliveryCreated, DeliveryTransition } from "../domain/delivery-events.ts";
import {
  changesOfMessage,
  createdHeaders,
  LISTING_HEADER,
  STATE_HEADER,
  tagsOf,
  transitionHeaders,
} from "./delivery-change-headers.ts";

const created: DeliveryCreated = {
  type: "delivery.created",
  at: "2026-12-02T10:00:00.000Z",
  data: {
    id: "dlv_1",
    request: { url: "https://hooks.example:8443/in", method: "POST", headers: {}, body: "" },
    schedule: [],
    secrets: [],
    source: "fan-out",
    subscriptionId: "sub_1",
  },
};
const started: DeliveryTransition = { type: "attempt.started", at: "2026-12-02T10:00:00.001Z", data: { attempt: 1 } };
const succeeded: DeliveryTransition = {
  type: "attempt.succeeded",
  at: "2026-12-02T10:00:00.040Z",
  data: {
    attempt: 1,
    request: { method: "POST", url: "https://hooks.example:8443/in", headers: {} },
    response: { status: 204, headers: {}, body: "", bodyTruncated: false },
    latencyMs: 38.6,
  },
};
const time = new Date("2026-12-02T10:00:00.050Z");

describe("what a delivery's journal message says in headers", () => {
  it("names the target host and the subscription of a delivery", () => {
    expect(tagsOf(created)).toEqual({ targetHost: "hooks.example:8443", subscriptionId: "sub_1" });
    const headers = createdHeaders(created);
    const changes = changesOfMessage({
      kind: "delivery-created",
      id: "dlv_1",
      seq: 7,
      time,
      header: (n) => headers[n],
    });
    expect(changes).toEqual([{
      seq: 7,
      deliveryId: "dlv_1",
      from: null,
      to: "pending",
      event: "delivery.created",
      at: time.toISOString(),
      targetHost: "hooks.example:8443",
      subscriptionId: "sub_1",
    }]);
  });

  it("turns a message of two steps back into two changes, the outcome with its status and latency", () => {
    const steps = [{ event: started, after: { state: "in-flight" } }, {
      event: succeeded,
      after: { state: "delivered" },
    }];
    const headers: Record<string, string> = {
      [STATE_HEADER]: "delivered",
      ...transitionHeaders("pending", steps, tagsOf(created)),
    };
    const changes = changesOfMessage({
      kind: "delivery-transitions",
      id: "dlv_1",
      seq: 9,
      time,
      header: (n) => headers[n],
    });
    expect(changes.map((c) => [c.from, c.to, c.event, c.seq])).toEqual([
      ["pending", "in-flight", "attempt.started", 9],
      ["in-flight", "delivered", "attempt.succeeded", 9],
    ]);
    expect(changes[0]!.attempt).toBeUndefined();
    expect(changes[1]!.attempt).toEqual({ status: 204, latencyMs: 39 });
  });

  it("reads a batched delivery's first message, which holds its created event, as its creation and then its steps", () => {
    const steps = [{ event: started, after: { state: "in-flight" } }, {
      event: succeeded,
      after: { state: "delivered" },
    }];
    const first = (held: typeof steps): Record<string, string> => ({
      ...createdHeaders(created),
      [LISTING_HEADER]: "{}",
      [STATE_HEADER]: held.at(-1)?.after.state ?? "pending",
      ...transitionHeaders("pending", held, tagsOf(created)),
    });
    const changesOf = (headers: Record<string, string>) =>
      changesOfMessage({ kind: "delivery-transitions", id: "dlv_1", seq: 4, time, header: (n) => headers[n] })
        .map((c) => [c.from, c.to, c.event]);
    expect(changesOf(first(steps))).toEqual([
      [null, "pending", "delivery.created"],
      ["pending", "in-flight", "attempt.started"],
      ["in-flight", "delivered", "attempt.succeeded"],
    ]);
    // Journaled as pending, to wait for a worker: its creation alone.
    expect(changesOf(first([]))).toEqual([[null, "pending", "delivery.created"]]);
  });

  it("reads a transition written before these headers as a change from an unknown state", () => {
    const headers: Record<string, string> = { [STATE_HEADER]: "backoff" };
    const [change] = changesOfMessage({
      kind: "delivery-transitions",
      id: "d",
      seq: 3,
      time,
      header: (n) => headers[n],
    });
    expect(change).toMatchObject({ from: null, to: "backoff", event: "unknown", targetHost: null });
  });
});
