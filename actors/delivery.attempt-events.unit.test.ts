import { describe, expect, it } from "vitest";
import type { AttemptFailed, DeliveryTransition } from "../src/domain/delivery-events.ts";
import {
  attemptInterrupted,
  type AttemptReport,
  attemptResolved,
  attemptStarted,
  INTERRUPTED_ERROR,
} from "./delivery.attempt-events.ts";
import { applyDeliveryEvent, type DeliverySnapshot, foldDelivery, stateOf } from "./delivery.fold.ts";
import { nextStep } from "./delivery.next-step.ts";

const SCHEDULE = [5_000, 30_000];
const NOW = Date.UTC(2026, 0, 1, 0, 1, 0);
const t = (ms: number) => new Date(ms).toISOString();
// The outbound request as the delivery layer builds it: url first, and a body the journal must not keep.
const outbound = {
  url: "https://example.com/hook",
  method: "POST",
  headers: { "webhook-id": "dlv_test" },
  body: new Uint8Array([1]),
};
const answer = (status: number, headers: Record<string, string> = {}): AttemptReport => ({
  latencyMs: 12.5,
  response: { status, headers, body: "ok", bodyTruncated: false },
});

/** given the delivery's attempts so far (the last one is on the wire), when its result is this, then this event. */
function given(attemptsStarted: number, maxAttempts = SCHEDULE.length + 1) {
  const events: DeliveryTransition[] = [];
  for (let attempt = 1; attempt <= attemptsStarted; attempt++) {
    const start = NOW - 60_000 + attempt * 1_000;
    events.push({ type: "attempt.started", at: t(start), data: { attempt } });
    if (attempt < attemptsStarted) {
      const retryAt = t(start + 500);
      events.push({
        type: "attempt.failed",
        at: t(start + 100),
        data: { ...outcomeRecord(attempt), permanent: false, retryAt },
      });
    }
  }
  const { snapshot: inFlight, rejected } = foldDelivery({ id: "dlv_test", maxAttempts }, events);
  expect(rejected).toEqual([]);
  expect(stateOf(inFlight)).toBe("in-flight");
  return {
    inFlight,
    when(report: AttemptReport, random = 0.5) {
      const event = attemptResolved({ inFlight, request: outbound, report, schedule: SCHEDULE, now: NOW, random });
      const after = applyDeliveryEvent(inFlight, event);
      return {
        event,
        failed: event as AttemptFailed,
        thenState: (state: string) => expect(after && stateOf(after)).toBe(state),
      };
    },
  };
}

function outcomeRecord(attempt: number) {
  return { attempt, request: { method: "POST", url: outbound.url, headers: {} }, latencyMs: 1, error: "ECONNREFUSED" };
}

describe("attempt.started", () => {
  it("numbers the next attempt and names the worker", () => {
    const { snapshot } = foldDelivery({ id: "dlv_test", maxAttempts: 3 }, []);
    expect(JSON.stringify(attemptStarted(snapshot, "host:1", NOW))).toBe(
      '{"type":"attempt.started","at":"2026-01-01T00:01:00.000Z","data":{"attempt":1,"worker":"host:1"}}',
    );
  });
  it("after a failure, is the attempt after it", () => {
    const { inFlight } = given(1);
    const backoff = applyDeliveryEvent(
      inFlight,
      given(1).when({ latencyMs: 1, error: "reset", errorCode: "network" }).event,
    )!;
    expect(attemptStarted(backoff, "w", NOW + 10_000).data.attempt).toBe(2);
  });
});

describe("which event an attempt's result is", () => {
  it("2xx: succeeded, keeping the request without its body and the response as it came", () => {
    const { event } = given(1).when(answer(204, { "content-type": "text/plain" }));
    expect(JSON.stringify(event)).toBe(
      '{"type":"attempt.succeeded","at":"2026-01-01T00:01:00.000Z","data":{"attempt":1,' +
        '"request":{"method":"POST","url":"https://example.com/hook","headers":{"webhook-id":"dlv_test"}},"latencyMs":12.5,' +
        '"response":{"status":204,"headers":{"content-type":"text/plain"},"body":"ok","bodyTruncated":false}}}',
    );
  });
  it("2xx moves the delivery to delivered", () => given(1).when(answer(200)).thenState("delivered"));

  it("5xx: failed, retried after the schedule's first delay", () => {
    const result = given(1).when(answer(500));
    expect(JSON.stringify(result.event)).toBe(
      '{"type":"attempt.failed","at":"2026-01-01T00:01:00.000Z","data":{"attempt":1,' +
        '"request":{"method":"POST","url":"https://example.com/hook","headers":{"webhook-id":"dlv_test"}},"latencyMs":12.5,' +
        '"response":{"status":500,"headers":{},"body":"ok","bodyTruncated":false},' +
        '"error":"receiver answered 500","permanent":false,"retryAt":"2026-01-01T00:01:05.000Z"}}',
    );
    result.thenState("backoff");
  });
  it("the random draw spreads the retry by up to a fifth either way", () => {
    expect(given(1).when(answer(500), 0).failed.data.retryAt).toBe(t(NOW + 4_000));
    expect(given(1).when(answer(500), 0.999_999).failed.data.retryAt).toBe(t(NOW + 6_000));
  });
  it("a later attempt in the round waits the schedule's later delay", () =>
    expect(given(2).when(answer(502)).failed.data.retryAt).toBe(t(NOW + 30_000)));
  it("the last attempt of the round fails the delivery (exhausted)", () =>
    given(3).when(answer(500)).thenState("failed"));

  describe("Retry-After", () => {
    it("503 honours delay-seconds, without jitter", () =>
      expect(given(1).when(answer(503, { "retry-after": "120" }), 0).failed.data.retryAt).toBe(t(NOW + 120_000)));
    it("429 honours an HTTP date", () => {
      const date = new Date(NOW + 90_000).toUTCString();
      expect(given(1).when(answer(429, { "retry-after": date })).failed.data.retryAt).toBe(t(NOW + 90_000));
    });
    it("is capped at a day", () =>
      expect(given(1).when(answer(503, { "retry-after": "31536000" })).failed.data.retryAt).toBe(t(NOW + 86_400_000)));
    it("an unreadable one falls back to the schedule", () =>
      expect(given(1).when(answer(503, { "retry-after": "soon" })).failed.data.retryAt).toBe(t(NOW + 5_000)));
    it("is ignored on other statuses", () =>
      expect(given(1).when(answer(500, { "retry-after": "120" })).failed.data.retryAt).toBe(t(NOW + 5_000)));
  });

  describe("permanent failures end the delivery with attempts left", () => {
    it("410 Gone", () => {
      const result = given(1).when(answer(410));
      expect(result.failed.data).toMatchObject({ permanent: true, error: "receiver answered 410 Gone" });
      result.thenState("failed");
    });
    it("a forbidden target keeps the transport's message", () => {
      const result = given(1).when({ latencyMs: 3, error: "10.0.0.1 is not allowed", errorCode: "forbidden-target" });
      expect(result.failed.data).toMatchObject({ permanent: true, error: "10.0.0.1 is not allowed" });
      expect(result.failed.data).not.toHaveProperty("response");
      result.thenState("failed");
    });
    it("an invalid target", () =>
      expect(given(1).when({ latencyMs: 0, error: "bad url", errorCode: "invalid-target" }).failed.data.permanent).toBe(
        true,
      ));
    it("an event gone from the topic log", () => {
      const result = given(1).when({
        latencyMs: 0,
        error: "the event is no longer in the topic log",
        errorCode: "payload-expired",
      });
      expect(result.failed.data.permanent).toBe(true);
      result.thenState("failed");
    });
  });

  describe("transport errors that may heal are retried", () => {
    it("a timeout", () => {
      const result = given(1).when({ latencyMs: 10_000, error: "timed out: headers", errorCode: "timeout" });
      expect(result.failed.data).toMatchObject({
        permanent: false,
        error: "timed out: headers",
        retryAt: t(NOW + 5_000),
      });
      result.thenState("backoff");
    });
    it("a network error, with no code counted as one", () => {
      const result = given(1).when({ latencyMs: 2, error: "ECONNRESET: socket hang up" });
      expect(Object.keys(result.failed.data)).toEqual([
        "attempt",
        "request",
        "latencyMs",
        "error",
        "permanent",
        "retryAt",
      ]);
      result.thenState("backoff");
    });
  });
});

describe("an interrupted attempt", () => {
  const inFlightSince = (snapshot: DeliverySnapshot) => snapshot.context.inFlightSince!;

  it("is a failure of the attempt on the wire, due again at once, without the request's headers", () => {
    const { inFlight } = given(1);
    const now = inFlightSince(inFlight) + 60_000;
    expect(JSON.stringify(attemptInterrupted(inFlight, { method: "PUT", url: outbound.url }, now))).toBe(
      '{"type":"attempt.failed","at":"2026-01-01T00:01:01.000Z","data":{"attempt":1,' +
        '"request":{"method":"PUT","url":"https://example.com/hook","headers":{}},"latencyMs":0,' +
        `"error":"${INTERRUPTED_ERROR}","permanent":false,"retryAt":"2026-01-01T00:01:01.000Z"}}`,
    );
  });
  it("leaves a delivery with attempts left in backoff, due now: the worker attempts it next", () => {
    const { inFlight } = given(1);
    const now = inFlightSince(inFlight) + 60_000;
    const after = applyDeliveryEvent(inFlight, attemptInterrupted(inFlight, outbound, now))!;
    expect(stateOf(after)).toBe("backoff");
    expect(nextStep(after, now, 30_000)).toEqual({ kind: "attempt" });
  });
  it("fails a delivery on its last attempt: the worker acks it next", () => {
    const { inFlight } = given(3);
    const now = inFlightSince(inFlight) + 60_000;
    const after = applyDeliveryEvent(inFlight, attemptInterrupted(inFlight, outbound, now))!;
    expect(stateOf(after)).toBe("failed");
    expect(nextStep(after, now, 30_000)).toEqual({ kind: "ack" });
  });
});
