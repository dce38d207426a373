import { formatDuration, parseDurationList } from "./duration.ts";

/**
 * When to try a failed delivery again. Pure: the clock reading and the random draw for jitter are
 * arguments, so the runtime can record the resulting time in the journal and replays stay exact.
 */

/** Jitter spreads retries of many deliveries that failed together so they don't hammer the receiver in lockstep. */
export const JITTER_RATIO = 0.2;
/** A receiver's Retry-After is honoured up to this bound, so a hostile answer can't park a delivery for a year. */
export const MAX_RETRY_AFTER_MS = 24 * 3_600_000;

export type RetryDecisionInput = {
  /** Delays between attempts; attempt n+1 waits schedule[n-1]. */
  schedule: readonly number[];
  /** Attempts made so far in this round, including the one that just failed (1-based). */
  attemptsInRound: number;
  now: number;
  /** A draw from [0, 1). */
  random: number;
  /** Delay the receiver asked for with Retry-After, if any. */
  retryAfterMs?: number | undefined;
};

/**
 * The longest wait between two attempts: 30 days, the journal's default age (HOOKD_JOURNAL_MAX_AGE).
 * Unbounded, a wait past what a date or a safe integer holds made a delivery unreadable; a
 * shorter HOOKD_JOURNAL_MAX_AGE is the operator's to match with shorter waits.
 */
export const MAX_RETRY_DELAY_MS = 30 * 86_400_000;

/** A retry schedule ("5s,30s,2m"), a subscription's or HOOKD_RETRY_SCHEDULE: 1 to 50 delays of at most 30 days each. */
export function parseRetrySchedule(text: string): number[] {
  const schedule = parseDurationList(text);
  if (schedule.length === 0 || schedule.length > 50) throw new Error("needs 1 to 50 delays");
  if (schedule.some((ms) => ms > MAX_RETRY_DELAY_MS)) {
    throw new Error(`has a delay over ${formatDuration(MAX_RETRY_DELAY_MS)}, the longest one allowed`);
  }
  return schedule;
}

export function maxAttemptsFor(schedule: readonly number[]): number {
  return schedule.length + 1;
}

export function nextRetryAt(input: RetryDecisionInput): number {
  if (input.retryAfterMs !== undefined) {
    return input.now + Math.min(Math.max(input.retryAfterMs, 0), MAX_RETRY_AFTER_MS);
  }
  const index = Math.min(Math.max(input.attemptsInRound - 1, 0), input.schedule.length - 1);
  const base = input.schedule[index] ?? 0;
  const factor = 1 - JITTER_RATIO + 2 * JITTER_RATIO * input.random;
  return input.now + Math.round(base * factor);
}

/** Retry-After is either delay-seconds or an HTTP-date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | null | undefined, now: number): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1_000;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(date - now, 0);
}
