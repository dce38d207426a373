import type { DeliveryTransition } from "../../src/domain/delivery-events.ts";

/**
 * Test fixtures, not machine code: journal events for the delivery machine's tests, written as the
 * worker would write them, at whole seconds of one fixed day so a test reads as a timeline.
 */

export const ms = (second: number) => Date.UTC(2026, 0, 1, 0, 0, second);
export const t = (second: number) => new Date(ms(second)).toISOString();

/** An attempt's record: the receiver's status, or a connection error when there is none. */
export const record = (attempt: number, status?: number) => ({
  attempt,
  request: { method: "POST", url: "https://example.com/hook", headers: {} },
  latencyMs: 12,
  ...(status ? { response: { status, headers: {}, body: "", bodyTruncated: false } } : { error: "connection refused" }),
});

export const started = (attempt: number, second: number): DeliveryTransition => ({
  type: "attempt.started",
  at: t(second),
  data: { attempt },
});

export const succeeded = (attempt: number, second: number): DeliveryTransition => ({
  type: "attempt.succeeded",
  at: t(second),
  data: record(attempt, 200),
});

export const failed = (
  attempt: number,
  second: number,
  retryAtSecond: number,
  opts: { status?: number; permanent?: boolean } = {},
): DeliveryTransition => ({
  type: "attempt.failed",
  at: t(second),
  data: { ...record(attempt, opts.status), permanent: opts.permanent ?? false, retryAt: t(retryAtSecond) },
});

export const retryRequested = (second: number): DeliveryTransition => ({
  type: "delivery.retry-requested",
  at: t(second),
  data: {},
});

export const cancelRequested = (second: number): DeliveryTransition => ({
  type: "delivery.cancel-requested",
  at: t(second),
  data: {},
});
