import { parseRetryAfter as parseServerRetryAfter } from "../domain/retry-policy.ts";

/**
 * How long a listener waits before it reconnects. Full jitter (a random wait below an exponential
 * ceiling) spreads out the clients that one restart of hookd cut off at the same moment, so they
 * do not all come back at the same moment.
 */

export type BackoffOptions = { initialMs: number; maxMs: number };

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 500, maxMs: 30_000 };

export function checkBackoff(options: BackoffOptions | undefined): BackoffOptions {
  if (options === undefined) return DEFAULT_BACKOFF;
  const { initialMs, maxMs } = options;
  if (!(initialMs > 0) || !(maxMs >= initialMs)) {
    throw new RangeError(`backoff needs 0 < initialMs <= maxMs (got initialMs ${initialMs}, maxMs ${maxMs})`);
  }
  return options;
}

/** The wait before reconnect number `attempt` (0 for the first): uniform in [0, min(maxMs, initialMs·2^attempt)). */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const ceiling = Math.min(options.maxMs, options.initialMs * 2 ** Math.min(attempt, 52));
  return Math.floor(random() * ceiling);
}

/** Retry-After in milliseconds (delay-seconds or an HTTP date), or null when absent or unreadable: the workers' parser, in the client's terms. */
export function parseRetryAfter(value: string | null, now: number): number | null {
  return parseServerRetryAfter(value, now) ?? null;
}
