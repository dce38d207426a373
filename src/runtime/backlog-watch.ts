import type { Logger } from "../log.ts";
import type { HookdMetrics } from "../metrics.ts";

/**
 * Watches how many deliveries wait in backoff or attempt against HOOKD_MAX_BACKLOG (the work
 * consumer's max_ack_pending). Each waiting delivery holds one of its slots while NATS keeps its
 * timer, and once all are held NATS hands out no work at all, for any receiver: so hookd shows the
 * count as a gauge and says so in its log before it gets there.
 */

export type Backlog = { waiting: number; limit: number };

/** Past this share of the limit, the log warns. */
const NEAR_SHARE = 0.9;
/** One warning per this long is enough: the gauge has the rest. */
const WARN_EVERY_MS = 10 * 60_000;

/** Whether `backlog` is close enough to its limit to warn about. */
export function isNearLimit(backlog: Backlog): boolean {
  return backlog.limit > 0 && backlog.waiting >= backlog.limit * NEAR_SHARE;
}

export function watchBacklog(deps: {
  read: () => Promise<Backlog>;
  metrics: HookdMetrics;
  log: Logger;
  everyMs: number;
  now: () => number;
}): { stop(): void } {
  let warnedAt = -Infinity;
  const check = async () => {
    // NATS away: its own lines say so; the next check reads again.
    const backlog = await deps.read().catch(() => null);
    if (!backlog) return;
    deps.metrics.backlogWaiting.set(backlog.waiting);
    deps.metrics.backlogLimit.set(backlog.limit);
    if (!isNearLimit(backlog) || deps.now() - warnedAt < WARN_EVERY_MS) return;
    warnedAt = deps.now();
    deps.log.warn(
      backlog,
      "deliveries waiting in backoff or attempt are near HOOKD_MAX_BACKLOG; past it NATS hands out no new work " +
        "for any receiver: raise HOOKD_MAX_BACKLOG, or cancel what will not succeed",
    );
  };
  void check();
  const timer = setInterval(() => void check(), deps.everyMs);
  return { stop: () => clearInterval(timer) };
}
