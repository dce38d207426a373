import type { DeliveryChange } from "./delivery-changes.ts";

/**
 * The fleet's recent minutes, counted from the change feed: deliveries entering each state, each
 * transition (from → to), and per target host the attempts, successes and a latency histogram, all
 * in one-minute buckets. Memory is bounded: a fixed number of minutes, and at most `maxHosts` hosts
 * (any further host is counted under OTHER_HOSTS). Times are the journal's, so every instance
 * reading the same journal counts the same minutes. Pure: the caller says what time it is.
 */

export const OTHER_HOSTS = "(other)";

/** Upper bounds (ms) of the latency histogram's bins; a percentile is reported as its bin's bound. */
export const LATENCY_BOUNDS_MS = [
  1,
  2,
  5,
  10,
  20,
  35,
  50,
  75,
  100,
  150,
  200,
  300,
  500,
  750,
  1_000,
  1_500,
  2_000,
  3_000,
  5_000,
  10_000,
  30_000,
  60_000,
  Infinity,
];

type HostMinute = { attempts: number; succeeded: number; failed: number; latency: number[] };
type Minute = {
  minute: number;
  entered: Map<string, number>;
  transitions: Map<string, number>;
  hosts: Map<string, HostMinute>;
};

export type FleetWindowSnapshot = {
  window_minutes: number;
  from: string;
  to: string;
  entered: Record<string, number>;
  /** Keyed as the machine's graph names an edge (from, event, to); from null for a creation. */
  transitions: { from: string | null; event: string; to: string; count: number }[];
  hosts: HostSummary[];
  minutes: { start: string; entered: Record<string, number> }[];
};

export type HostSummary = {
  host: string;
  attempts: number;
  succeeded: number;
  failed: number;
  success_rate: number | null;
  p50_ms: number | null;
  p95_ms: number | null;
  minutes: {
    start: string;
    attempts: number;
    succeeded: number;
    success_rate: number | null;
    p50_ms: number | null;
    p95_ms: number | null;
  }[];
};

const MINUTE_MS = 60_000;
const iso = (minute: number) => new Date(minute * MINUTE_MS).toISOString();
const bump = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);

function binOf(latencyMs: number): number {
  const index = LATENCY_BOUNDS_MS.findIndex((bound) => latencyMs <= bound);
  return index < 0 ? LATENCY_BOUNDS_MS.length - 1 : index;
}

/** The bound of the bin holding the `fraction` quantile; null with no samples. */
export function percentile(histogram: readonly number[], fraction: number): number | null {
  const total = histogram.reduce((sum, count) => sum + count, 0);
  if (total === 0) return null;
  let seen = 0;
  for (let i = 0; i < histogram.length; i++) {
    seen += histogram[i]!;
    if (seen >= fraction * total) {
      const bound = LATENCY_BOUNDS_MS[i]!;
      // The last bin is open-ended: its lower bound is the honest figure.
      return Number.isFinite(bound) ? bound : LATENCY_BOUNDS_MS[i - 1]!;
    }
  }
  return null;
}

const rate = (succeeded: number, attempts: number) => (attempts === 0 ? null : succeeded / attempts);

export class FleetWindow {
  readonly #minutes = new Map<number, Minute>();
  readonly #hosts = new Set<string>();

  constructor(readonly windowMinutes: number, readonly maxHosts: number) {}

  add(change: DeliveryChange, now: number): void {
    const minute = Math.floor(Date.parse(change.at) / MINUTE_MS);
    const current = Math.floor(now / MINUTE_MS);
    if (minute <= current - this.windowMinutes) return;
    const bucket = this.#bucket(minute);
    bump(bucket.entered, change.to);
    bump(bucket.transitions, `${change.from ?? ""}>${change.event}>${change.to}`);
    if (change.event === "attempt.succeeded" || change.event === "attempt.failed") this.#attempt(bucket, change);
  }

  #bucket(minute: number): Minute {
    let bucket = this.#minutes.get(minute);
    if (!bucket) {
      bucket = { minute, entered: new Map(), transitions: new Map(), hosts: new Map() };
      this.#minutes.set(minute, bucket);
    }
    return bucket;
  }

  #attempt(bucket: Minute, change: DeliveryChange): void {
    let host = change.targetHost ?? OTHER_HOSTS;
    if (!this.#hosts.has(host)) {
      if (this.#hosts.size >= this.maxHosts) host = OTHER_HOSTS;
      else this.#hosts.add(host);
    }
    let stats = bucket.hosts.get(host);
    if (!stats) bucket.hosts.set(host, stats = { attempts: 0, succeeded: 0, failed: 0, latency: [] });
    stats.attempts++;
    if (change.event === "attempt.succeeded") stats.succeeded++;
    else stats.failed++;
    if (change.attempt) {
      const bin = binOf(change.attempt.latencyMs);
      stats.latency[bin] = (stats.latency[bin] ?? 0) + 1;
    }
  }

  /** Drops minutes that left the window, and hosts no minute mentions any more (so new hosts find room). */
  prune(now: number): void {
    const oldest = Math.floor(now / MINUTE_MS) - this.windowMinutes + 1;
    for (const minute of this.#minutes.keys()) if (minute < oldest) this.#minutes.delete(minute);
    const seen = new Set<string>();
    for (const bucket of this.#minutes.values()) for (const host of bucket.hosts.keys()) seen.add(host);
    for (const host of this.#hosts) if (!seen.has(host)) this.#hosts.delete(host);
  }

  snapshot(now: number): FleetWindowSnapshot {
    this.prune(now);
    const current = Math.floor(now / MINUTE_MS);
    const buckets = [...this.#minutes.values()].sort((a, b) => a.minute - b.minute);
    const entered = new Map<string, number>();
    const transitions = new Map<string, number>();
    for (const bucket of buckets) {
      for (const [state, count] of bucket.entered) entered.set(state, (entered.get(state) ?? 0) + count);
      for (const [key, count] of bucket.transitions) transitions.set(key, (transitions.get(key) ?? 0) + count);
    }
    return {
      window_minutes: this.windowMinutes,
      from: iso(current - this.windowMinutes + 1),
      to: new Date(now).toISOString(),
      entered: Object.fromEntries(entered),
      transitions: [...transitions].map(([key, count]) => {
        const [from, event, to] = key.split(">") as [string, string, string];
        return { from: from === "" ? null : from, event, to, count };
      }).sort((a, b) => b.count - a.count),
      hosts: this.#hostSummaries(buckets),
      minutes: buckets.map((bucket) => ({ start: iso(bucket.minute), entered: Object.fromEntries(bucket.entered) })),
    };
  }

  #hostSummaries(buckets: readonly Minute[]): HostSummary[] {
    const summaries = new Map<string, HostSummary & { histogram: number[] }>();
    for (const bucket of buckets) {
      for (const [host, stats] of bucket.hosts) {
        const summary = summaries.get(host) ?? {
          host,
          attempts: 0,
          succeeded: 0,
          failed: 0,
          success_rate: null,
          p50_ms: null,
          p95_ms: null,
          minutes: [],
          histogram: [],
        };
        summaries.set(host, summary);
        summary.attempts += stats.attempts;
        summary.succeeded += stats.succeeded;
        summary.failed += stats.failed;
        stats.latency.forEach((count, bin) => (summary.histogram[bin] = (summary.histogram[bin] ?? 0) + (count ?? 0)));
        summary.minutes.push({
          start: iso(bucket.minute),
          attempts: stats.attempts,
          succeeded: stats.succeeded,
          success_rate: rate(stats.succeeded, stats.attempts),
          p50_ms: percentile(dense(stats.latency), 0.5),
          p95_ms: percentile(dense(stats.latency), 0.95),
        });
      }
    }
    return [...summaries.values()].map(({ histogram, ...summary }) => ({
      ...summary,
      success_rate: rate(summary.succeeded, summary.attempts),
      p50_ms: percentile(dense(histogram), 0.5),
      p95_ms: percentile(dense(histogram), 0.95),
    })).sort((a, b) => b.attempts - a.attempts);
  }
}

/** A sparse array (bins filled as seen) with its holes as zeros. */
function dense(histogram: readonly number[]): number[] {
  return Array.from({ length: LATENCY_BOUNDS_MS.length }, (_, bin) => histogram[bin] ?? 0);
}
