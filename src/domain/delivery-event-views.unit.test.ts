import { describe, expect, it } from "vitest";
import type { AttemptResolved } from "./delivery-events.ts";
import { summarizeAttempt } from "./delivery-event-views.ts";

// Pure: summarizeAttempt needs no NATS. The attempt list answers this JSON, so its field order is part of the contract.

const request = { method: "POST", url: "https://example.com/hook", headers: { "webhook-id": "dlv_1" } };

describe("an attempt's summary for the subscription's attempt list", () => {
  it("a success keeps the response, with snake_case fields", () => {
    const outcome: AttemptResolved = {
      type: "attempt.succeeded",
      at: "2026-01-01T00:00:01.000Z",
      data: {
        attempt: 2,
        request,
        latencyMs: 12.5,
        response: { status: 200, headers: { "content-type": "text/plain" }, body: "ok", bodyTruncated: true },
      },
    };
    expect(JSON.stringify(summarizeAttempt("dlv_1", outcome))).toBe(
      '{"delivery_id":"dlv_1","attempt":2,"at":"2026-01-01T00:00:01.000Z","outcome":"succeeded","latency_ms":12.5,' +
        '"request":{"method":"POST","url":"https://example.com/hook","headers":{"webhook-id":"dlv_1"}},' +
        '"response":{"status":200,"headers":{"content-type":"text/plain"},"body":"ok","body_truncated":true},"error":null}',
    );
  });

  it("a failure without an answer has a null response and its error; retry details stay in the journal", () => {
    const outcome: AttemptResolved = {
      type: "attempt.failed",
      at: "2026-01-01T00:00:02.000Z",
      data: {
        attempt: 1,
        request,
        latencyMs: 3,
        error: "ECONNREFUSED",
        permanent: false,
        retryAt: "2026-01-01T00:00:07.000Z",
      },
    };
    expect(summarizeAttempt("dlv_1", outcome)).toEqual({
      delivery_id: "dlv_1",
      attempt: 1,
      at: "2026-01-01T00:00:02.000Z",
      outcome: "failed",
      latency_ms: 3,
      request,
      response: null,
      error: "ECONNREFUSED",
    });
  });
});
