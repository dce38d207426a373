import { sleep } from "../support/figures.ts";
import { cpuMsOf, machineTicks } from "../support/processes.ts";
import type { ListenerChild } from "./listener-child.ts";
import { publish, type PublishResult } from "./publisher.ts";
import { STEP_P99_MS, timeLeft } from "./settings.ts";
import { type FromListeners, type ListenerReport, msOfBucket } from "./sse-listeners.ts";

/**
 * One phase of bench/streams: tell the listener processes a phase begins, publish at a rate for a
 * while, wait until every listener has every message (or delivery stalls), then merge the listeners'
 * reports into latency percentiles, counts and CPU shares. `passes` says whether a rate step held.
 */

export type PhaseResult = {
  rate: number;
  listeners: number;
  publish: PublishResult;
  drainedMs: number;
  allDelivered: boolean;
  p50: number;
  p99: number;
  max: number;
  pairs: number;
  missed: number;
  /** The most messages of the phase one listener got; above the accepted count, publishes answered as failed were stored after all. */
  distinctMax: number;
  complete: number;
  alive: number;
  duplicates: number;
  late: number;
  negative: number;
  cutOff: number;
  cutReasons: Record<string, number>;
  closedUnexpectedly: number;
  deliveredFramesPerSecond: number;
  /** Percent of one core; `others` is what processes this benchmark did not start used (the machine is shared). */
  cpu: {
    hookd: number;
    nats: number;
    publisher: number;
    machine: number;
    others: number;
    clients: number[];
    clientElu: number[];
  };
  /** hookd's own event-loop delay over the phase (prom-client's default metrics), ms. */
  hookdLag: { p99: number; max: number };
};

/** What a phase runs against: hookd at `base`, the nats-server, and the listener processes. */
export type PhaseTarget = {
  base: string;
  authorization: string;
  hookdPid: number;
  natsPid: number;
  clients: ListenerChild[];
};

type CpuReading = { hookd: number; nats: number; publisher: NodeJS.CpuUsage; machine: { busy: number; total: number } };

/** hookd's event-loop delay since the last scrape: prom-client resets its histogram each time it is read. */
async function hookdEventLoopLag(base: string, authorization: string): Promise<{ p99: number; max: number }> {
  const text = await fetch(`${base}/metrics`, { headers: { authorization }, signal: AbortSignal.timeout(10_000) })
    .then((response) => response.text())
    .catch(() => "");
  const value = (name: string) => Number(new RegExp(`^${name} ([0-9.e+-]+)`, "m").exec(text)?.[1] ?? NaN) * 1000;
  return { p99: value("nodejs_eventloop_lag_p99_seconds"), max: value("nodejs_eventloop_lag_max_seconds") };
}

let nextPhase = 1;

async function progress(clients: ListenerChild[], published: number) {
  type Progress = Extract<FromListeners, { type: "progress" }>;
  const answers = await Promise.all(clients.map((client) => client.ask<Progress>({ type: "progress", published })));
  return answers.reduce(
    (sum, a) => ({
      complete: sum.complete + a.complete,
      alive: sum.alive + a.alive,
      received: sum.received + a.received,
    }),
    { complete: 0, alive: 0, received: 0 },
  );
}

async function cpuReading(target: PhaseTarget, publisherSince?: NodeJS.CpuUsage): Promise<CpuReading> {
  const hookd = await cpuMsOf(target.hookdPid);
  const nats = await cpuMsOf(target.natsPid);
  return { hookd, nats, publisher: process.cpuUsage(publisherSince), machine: await machineTicks() };
}

export async function runPhase(
  target: PhaseTarget,
  listeners: number,
  rate: number,
  seconds: number,
  drainLimitMs: number,
): Promise<PhaseResult> {
  const { base, authorization, clients } = target;
  const phase = nextPhase++;
  const maxMessages = Math.max(1, Math.round(rate * seconds));
  for (const client of clients) client.post({ type: "phase", phase, maxMessages, offsetMs: client.offsetMs });
  // The phase message is on its way; a round trip makes sure every child switched before the first publish.
  await progress(clients, 0);
  await hookdEventLoopLag(base, authorization);
  const cpuBefore = await cpuReading(target);
  const wallStart = performance.now();
  const published = await publish(base, authorization, phase, rate, seconds);
  const { drainedMs, allDelivered } = await drain(clients, listeners, published.accepted, drainLimitMs);
  const wallSeconds = (performance.now() - wallStart) / 1000;
  const cpuAfter = await cpuReading(target, cpuBefore.publisher);
  const hookdLag = await hookdEventLoopLag(base, authorization);
  const reports = await Promise.all(
    clients.map((client) => client.ask<ListenerReport>({ type: "report", published: published.accepted })),
  );
  return {
    rate,
    listeners,
    publish: published,
    drainedMs,
    allDelivered,
    ...merge(reports, listeners, published.accepted),
    cpu: cpuShares(cpuBefore, cpuAfter, reports, wallSeconds),
    hookdLag,
  };
}

/** Waits until every live listener has every accepted message, delivery stalls, or the limit passes. */
async function drain(clients: ListenerChild[], listeners: number, accepted: number, drainLimitMs: number) {
  const drainStart = performance.now();
  let lastReceived = -1;
  let lastChange = drainStart;
  let allDelivered = false;
  for (;;) {
    const state = await progress(clients, accepted);
    if (state.complete >= listeners) {
      allDelivered = true;
      break;
    }
    if (state.received !== lastReceived) {
      lastReceived = state.received;
      lastChange = performance.now();
    }
    const t = performance.now();
    if (t - drainStart > drainLimitMs || t - lastChange > 2_000 || timeLeft() < 5_000) break;
    await sleep(100);
  }
  return { drainedMs: performance.now() - drainStart, allDelivered };
}

/** The listener processes' reports as one: latency percentiles from their merged histograms, and summed counts. */
function merge(reports: ListenerReport[], listeners: number, accepted: number) {
  const merged = new Map<number, number>();
  let pairs = 0;
  for (const report of reports) {
    for (const [bucket, count] of report.histogram) {
      merged.set(bucket, (merged.get(bucket) ?? 0) + count);
      pairs += count;
    }
  }
  const buckets = [...merged.entries()].sort((a, b) => a[0] - b[0]);
  const percentile = (p: number) => {
    const rank = Math.ceil(pairs * p);
    let seen = 0;
    for (const [bucket, count] of buckets) {
      seen += count;
      if (seen >= rank) return msOfBucket(bucket);
    }
    return NaN;
  };
  const sum = (pick: (r: ListenerReport) => number) => reports.reduce((total, r) => total + pick(r), 0);
  const cutReasons: Record<string, number> = {};
  for (const report of reports) {
    for (const [reason, count] of Object.entries(report.cutReasons)) {
      cutReasons[reason] = (cutReasons[reason] ?? 0) + count;
    }
  }
  const first = Math.min(...reports.map((r) => r.firstArrival || Infinity));
  const last = Math.max(...reports.map((r) => r.lastArrival));
  return {
    p50: percentile(0.5),
    p99: percentile(0.99),
    max: buckets.length ? msOfBucket(buckets.at(-1)![0]) : NaN,
    pairs,
    // Listeners that were never connected, or were cut off, count every message they lacked.
    missed: sum((r) => r.missed) + (listeners - sum((r) => r.listeners)) * accepted,
    distinctMax: Math.max(...reports.map((r) => r.distinctMax)),
    complete: sum((r) => r.complete),
    alive: sum((r) => r.alive),
    duplicates: sum((r) => r.duplicates),
    late: sum((r) => r.late),
    negative: sum((r) => r.negative),
    cutOff: sum((r) => r.cutOff),
    cutReasons,
    closedUnexpectedly: sum((r) => r.closedUnexpectedly),
    deliveredFramesPerSecond: pairs / Math.max(0.001, (last - first) / 1000),
  };
}

/** Percent of one core each process used over the phase, from CPU times read before and after. */
function cpuShares(
  cpuBefore: CpuReading,
  cpuAfter: CpuReading,
  reports: ListenerReport[],
  wallSeconds: number,
): PhaseResult["cpu"] {
  const cpu = {
    hookd: (cpuAfter.hookd - cpuBefore.hookd) / 10 / wallSeconds,
    nats: (cpuAfter.nats - cpuBefore.nats) / 10 / wallSeconds,
    publisher: (cpuAfter.publisher.user + cpuAfter.publisher.system) / 1000 / 10 / wallSeconds,
    // Of both cores: 200% is everything.
    machine: ((cpuAfter.machine.busy - cpuBefore.machine.busy) /
      Math.max(1, cpuAfter.machine.total - cpuBefore.machine.total)) * 200,
    others: 0,
    clients: reports.map((r) => r.cpuMs / 10 / wallSeconds),
    clientElu: reports.map((r) => r.eventLoopUtilization),
  };
  cpu.others = Math.max(0, cpu.machine - cpu.hookd - cpu.nats - cpu.publisher - cpu.clients.reduce((a, b) => a + b, 0));
  return cpu;
}

export const passes = (r: PhaseResult) =>
  r.allDelivered && r.missed === 0 && r.cutOff === 0 && r.closedUnexpectedly === 0 && r.p99 < STEP_P99_MS &&
  r.publish.failed === 0 && r.publish.achievedRate >= r.rate * 0.95;
