import { type AttemptErrorCode, classifyError, classifyStatus } from "../src/domain/attempt-outcome.ts";
import type { AttemptFailed, AttemptRecord, AttemptResolved, AttemptStarted } from "../src/domain/delivery-events.ts";
import { nextRetryAt, parseRetryAfter } from "../src/domain/retry-policy.ts";
import type { DeliverySnapshot } from "./delivery.fold.ts";

/**
 * The journal events of one attempt, made from what happened: the receiver's answer or the error,
 * the clock reading and the random draw for jitter all come in as arguments. The worker appends
 * these events as they are, so folding a journal never has to guess.
 */

/** What the outbound HTTP attempt reported (the delivery layer's AttemptResult). */
export type AttemptReport = {
  latencyMs: number;
  response?: AttemptRecord["response"];
  error?: string;
  errorCode?: AttemptErrorCode;
};

export type AttemptResolution = {
  /** The delivery right after its attempt.started: it numbers the attempt and counts the round. */
  inFlight: DeliverySnapshot;
  /** The request as sent; only method, url and headers are kept. */
  request: { method: string; url: string; headers: Record<string, string> };
  report: AttemptReport;
  /** The delivery's retry delays, fixed when it was created. */
  schedule: readonly number[];
  now: number;
  /** A draw from [0, 1) for the retry's jitter. */
  random: number;
};

export const INTERRUPTED_ERROR = "attempt interrupted: the worker stopped before the outcome was recorded";

const iso = (ms: number) => new Date(ms).toISOString();

export function attemptStarted(before: DeliverySnapshot, worker: string, now: number): AttemptStarted {
  return { type: "attempt.started", at: iso(now), data: { attempt: before.context.attempts + 1, worker } };
}

/**
 * Which event an attempt's result is. 2xx: succeeded. Anything else failed: for good on a 410 or a
 * target that can't be requested, else with a retry time from the receiver's Retry-After (429, 503)
 * or from the schedule with jitter. The machine then decides between backoff and failed.
 */
export function attemptResolved(input: AttemptResolution): AttemptResolved {
  const { report, now } = input;
  // Built key by key: the journal's JSON keeps this order, the same as every event written before.
  const record: AttemptRecord = {
    attempt: input.inFlight.context.attempts,
    request: { method: input.request.method, url: input.request.url, headers: input.request.headers },
    latencyMs: report.latencyMs,
    ...(report.response ? { response: report.response } : {}),
    ...(report.error ? { error: report.error } : {}),
  };
  const verdict = report.response
    ? classifyStatus(report.response.status)
    : classifyError(report.errorCode ?? "network");
  if (verdict.kind === "success") return { type: "attempt.succeeded", at: iso(now), data: record };
  const honoursRetryAfter = verdict.kind === "retry" && verdict.honourRetryAfter;
  const retryAfterMs = honoursRetryAfter ? parseRetryAfter(report.response?.headers["retry-after"], now) : undefined;
  const attemptsInRound = input.inFlight.context.roundAttempts;
  const retryAt = nextRetryAt({ schedule: input.schedule, attemptsInRound, now, random: input.random, retryAfterMs });
  const error = record.error ??
    (verdict.kind === "permanent" ? verdict.reason : `receiver answered ${report.response?.status}`);
  return failed({ ...record, error }, now, verdict.kind === "permanent", retryAt);
}

/**
 * The outcome of an attempt whose worker stopped before recording one. The receiver may or may not
 * have the request, so it counts as a failure that may be retried at once.
 */
export function attemptInterrupted(
  inFlight: DeliverySnapshot,
  request: { method: string; url: string },
  now: number,
): AttemptFailed {
  const record: AttemptRecord = {
    attempt: inFlight.context.attempts,
    request: { method: request.method, url: request.url, headers: {} },
    latencyMs: 0,
    error: INTERRUPTED_ERROR,
  };
  return failed(record, now, false, now);
}

function failed(record: AttemptRecord, now: number, permanent: boolean, retryAt: number): AttemptFailed {
  return { type: "attempt.failed", at: iso(now), data: { ...record, permanent, retryAt: iso(retryAt) } };
}
