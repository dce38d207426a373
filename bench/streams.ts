import { fork, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Agent, request } from "undici";
import { PathTokens } from "../src/domain/path-tokens.ts";
import { startNatsServer, type NatsServerHandle } from "../src/nats/embedded-server.ts";
import { cpuMsOf, memoryOf, openFilesLimit, startHookd, stop, type HookdProcess } from "./support/processes.ts";
import { msOfBucket, type FromListeners, type ListenerReport, type ToListeners } from "./support/sse-listeners.ts";

/**
 * bench/streams: topic streams over SSE with 1,000 and 10,000 concurrent listeners on one topic.
 * For each count, on a fresh hookd: publish → receive latency at BENCH_RATE messages/s for
 * BENCH_SECONDS, hookd's RSS, and the highest stepped publish rate at which every listener still
 * got every message. Listeners are real HTTP clients in BENCH_CLIENTS child processes
 * (bench/support/sse-listeners.ts). Prints figures; asserts nothing.
 *
 * Env: BENCH_LISTENERS (default "1000,10000"), BENCH_RATE (100), BENCH_SECONDS (10), BENCH_CLIENTS (2),
 * BENCH_STEP_SECONDS (4), BENCH_STEP_FRAMES (total frames/s targets, default "50000,100000,150000,200000,300000,400000"),
 * BENCH_MAX_INFLIGHT (publishes awaiting an answer, 64), BENCH_HOOKD_NODE_ARGS (extra node flags for hookd, e.g. --cpu-prof),
 * BENCH_TIMEOUT (seconds for the whole run, default 170; the script stops itself after it).
 */

const list = (text: string) => text.split(",").map((part) => Number(part.trim())).filter((n) => n > 0);
const COUNTS = list(process.env.BENCH_LISTENERS ?? "1000,10000");
const RATE = Number(process.env.BENCH_RATE ?? 100);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CLIENTS = Math.max(1, Number(process.env.BENCH_CLIENTS ?? 2));
const STEP_SECONDS = Number(process.env.BENCH_STEP_SECONDS ?? 4);
const STEP_FRAMES = list(process.env.BENCH_STEP_FRAMES ?? "50000,100000,150000,200000,300000,400000");
const TIMEOUT_S = Number(process.env.BENCH_TIMEOUT ?? 170);
const WARMUP_SECONDS = 2;
/** The warm-up offers at most this many frames/s (rate × listeners), so it stays short when hookd cannot keep up. */
const WARMUP_FRAMES = 50_000;
/** A phase's publisher stops offering once it is this far behind its schedule: the phase stays bounded when hookd slows. */
const PUBLISH_OVERRUN = 1.5;
const MAX_INFLIGHT = Number(process.env.BENCH_MAX_INFLIGHT ?? 64);
const CONNECT_CONCURRENCY = 64;
/** A step passes when every listener has every message this long after the last publish was acknowledged, and p99 stays under STEP_P99_MS. */
const STEP_DRAIN_MS = 3_000;
const STEP_P99_MS = 1_000;
const TOPIC = "bench/streams";
const KEY = "bench-key-0123456789abcdef";
const HOOKD_ENV: Record<string, string> = { HOOKD_STREAM_MAX_PER_TOKEN: "100000" };
// e.g. BENCH_HOOKD_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile hookd alone.
const HOOKD_NODE_ARGS = (process.env.BENCH_HOOKD_NODE_ARGS ?? "").split(" ").filter(Boolean);

const startedAt = performance.now();
const deadline = startedAt + TIMEOUT_S * 1000;
const timeLeft = () => deadline - performance.now();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits }) : "–");
const now = () => performance.timeOrigin + performance.now();
const log = (line: string) => console.log(`[${((performance.now() - startedAt) / 1000).toFixed(1).padStart(5)}s] ${line}`);

// ---------------------------------------------------------------------------------------------
// Everything this script starts, so that any way out (end, error, SIGINT, time limit) stops it.

let nats: NatsServerHandle | null = null;
let natsDir: string | null = null;
let hookd: HookdProcess | null = null;
let clients: ListenerChild[] = [];
let cleaning: Promise<void> | null = null;

function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    await Promise.allSettled(clients.map((client) => client.close()));
    clients = [];
    if (hookd) {
      await stop(hookd.child).catch(() => undefined);
      await rm(hookd.dataDir, { recursive: true, force: true }).catch(() => undefined);
      hookd = null;
    }
    await nats?.stop().catch(() => undefined);
    if (natsDir) await rm(natsDir, { recursive: true, force: true }).catch(() => undefined);
  })();
  return cleaning;
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    console.error(`\n${signal}: stopping hookd, NATS and the listener processes`);
    void cleanup().finally(() => process.exit(130));
  });
}
// The hard stop: the phases watch the deadline themselves; this is for anything stuck.
setTimeout(() => {
  console.error(`\nbench/streams ran past its ${TIMEOUT_S}s limit (+30s); stopping everything`);
  void cleanup().finally(() => process.exit(1));
}, (TIMEOUT_S + 30) * 1000).unref();

// ---------------------------------------------------------------------------------------------
// A child process holding some of the listeners.

class ListenerChild {
  readonly child: ChildProcess;
  readonly #waiting: { resolve: (message: FromListeners) => void; reject: (error: Error) => void }[] = [];
  offsetMs = 0;
  rttMs = 0;

  constructor() {
    this.child = fork(new URL("./support/sse-listeners.ts", import.meta.url).pathname, [], {
      execArgv: ["--import", "tsx"],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    this.child.on("message", (message: FromListeners) => this.#waiting.shift()?.resolve(message));
    this.child.on("exit", (code, signal) => {
      for (const waiter of this.#waiting.splice(0)) waiter.reject(new Error(`a listener process exited (${code ?? signal})`));
    });
  }

  post(message: ToListeners): void {
    if (this.child.connected) this.child.send(message);
  }

  ask<T extends FromListeners>(message: ToListeners, timeoutMs = 60_000): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`a listener process did not answer "${message.type}" within ${timeoutMs} ms`)), timeoutMs);
      this.#waiting.push({
        resolve: (answer) => {
          clearTimeout(timer);
          resolve(answer as T);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      this.post(message);
    });
  }

  /** Estimates this child's clock minus ours from the IPC round trip with the smallest delay. */
  async syncClock(rounds = 30): Promise<void> {
    let best = Infinity;
    for (let i = 0; i < rounds; i++) {
      const t = now();
      const pong = await this.ask<Extract<FromListeners, { type: "pong" }>>({ type: "ping", t });
      const back = now();
      if (back - t < best) {
        best = back - t;
        this.offsetMs = pong.now - (t + back) / 2;
        this.rttMs = best;
      }
    }
  }

  async close(): Promise<void> {
    this.post({ type: "close" });
    await stop(this.child, 3_000);
  }
}

// ---------------------------------------------------------------------------------------------
// Publishing.

type PublishResult = {
  attempted: number;
  accepted: number;
  failed: number;
  /** Failures by kind (status and problem title, or the client's error), with counts. */
  errors: Record<string, number>;
  seconds: number;
  achievedRate: number;
  inflightBound: boolean;
  /** True when the publisher gave up before offering everything (hookd answered too slowly). */
  cutShort: boolean;
  /** POST /pub round trips as the publisher saw them, ms. */
  ackP50: number;
  ackP99: number;
};

/** Open loop at `rate`/s for `seconds`, at most MAX_INFLIGHT unanswered; each body carries its send time. */
async function publish(base: string, authorization: string, phase: number, rate: number, seconds: number): Promise<PublishResult> {
  const total = Math.max(1, Math.round(rate * seconds));
  const agent = new Agent({ connections: MAX_INFLIGHT, pipelining: 1, headersTimeout: 60_000, bodyTimeout: 60_000 });
  let attempted = 0;
  let cutShort = false;
  const url = `${base}/pub/${TOPIC}`;
  let inflight = 0;
  let freed: (() => void) | null = null;
  let accepted = 0;
  let failed = 0;
  let inflightBound = false;
  const errors: Record<string, number> = {};
  const failure = (kind: string) => {
    failed++;
    errors[kind] = (errors[kind] ?? 0) + 1;
  };
  const acks: number[] = [];
  const sends: Promise<void>[] = [];
  const started = performance.now();
  const giveUpAt = started + seconds * 1000 * PUBLISH_OVERRUN + 3_000;
  for (let i = 0; i < total; i++) {
    if (performance.now() > giveUpAt || timeLeft() < 10_000) {
      cutShort = true;
      break;
    }
    attempted++;
    const wait = started + (i * 1000) / rate - performance.now();
    if (wait > 1) await sleep(wait);
    while (inflight >= MAX_INFLIGHT) {
      inflightBound = true;
      await new Promise<void>((resolve) => (freed = resolve));
    }
    inflight++;
    const sentAt = performance.now();
    sends.push(
      request(url, { method: "POST", body: `${phase}|${i}|${now()}`, headers: { authorization, "content-type": "text/plain" }, dispatcher: agent })
        .then(async (response) => {
          const text = await response.body.text();
          acks.push(performance.now() - sentAt);
          if (response.statusCode === 202) accepted++;
          else failure(`HTTP ${response.statusCode} ${/"title":"([^"]*)"/.exec(text)?.[1] ?? text.slice(0, 80)}`);
        })
        .catch((error: Error) => failure(`client: ${error.message}`))
        .finally(() => {
          inflight--;
          const wake = freed;
          freed = null;
          wake?.();
        }),
    );
  }
  await Promise.all(sends);
  const elapsed = (performance.now() - started) / 1000;
  await agent.close();
  acks.sort((a, b) => a - b);
  const at = (p: number) => acks[Math.min(acks.length - 1, Math.floor(acks.length * p))] ?? NaN;
  return { attempted, accepted, failed, errors, seconds: elapsed, achievedRate: attempted / elapsed, inflightBound, cutShort, ackP50: at(0.5), ackP99: at(0.99) };
}

// ---------------------------------------------------------------------------------------------
// Phases: publish, wait for delivery, gather the listeners' reports.

type PhaseResult = {
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
  cpu: { hookd: number; nats: number; publisher: number; machine: number; others: number; clients: number[]; clientElu: number[] };
  /** hookd's own event-loop delay over the phase (prom-client's default metrics), ms. */
  hookdLag: { p99: number; max: number };
};

/** Busy and total jiffies of the whole machine, from /proc/stat. */
async function machineTicks(): Promise<{ busy: number; total: number }> {
  const fields = (await readFile("/proc/stat", "utf8")).split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  return { busy: total - fields[3]! - (fields[4] ?? 0), total };
}

/** hookd's event-loop delay since the last scrape: prom-client resets its histogram each time it is read. */
async function hookdEventLoopLag(base: string, authorization: string): Promise<{ p99: number; max: number }> {
  const text = await fetch(`${base}/metrics`, { headers: { authorization }, signal: AbortSignal.timeout(10_000) })
    .then((response) => response.text())
    .catch(() => "");
  const value = (name: string) => Number(new RegExp(`^${name} ([0-9.e+-]+)`, "m").exec(text)?.[1] ?? NaN) * 1000;
  return { p99: value("nodejs_eventloop_lag_p99_seconds"), max: value("nodejs_eventloop_lag_max_seconds") };
}

let nextPhase = 1;

async function progress(published: number) {
  const answers = await Promise.all(clients.map((client) => client.ask<Extract<FromListeners, { type: "progress" }>>({ type: "progress", published })));
  return answers.reduce((sum, a) => ({ complete: sum.complete + a.complete, alive: sum.alive + a.alive, received: sum.received + a.received }), { complete: 0, alive: 0, received: 0 });
}

async function runPhase(base: string, authorization: string, listeners: number, rate: number, seconds: number, drainLimitMs: number): Promise<PhaseResult> {
  const phase = nextPhase++;
  const maxMessages = Math.max(1, Math.round(rate * seconds));
  for (const client of clients) client.post({ type: "phase", phase, maxMessages, offsetMs: client.offsetMs });
  // The phase message is on its way; a round trip makes sure every child switched before the first publish.
  await progress(0);
  await hookdEventLoopLag(base, authorization);
  const cpuBefore = { hookd: await cpuMsOf(hookd!.child.pid!), nats: await cpuMsOf(nats!.pid), publisher: process.cpuUsage(), machine: await machineTicks() };
  const wallStart = performance.now();
  const published = await publish(base, authorization, phase, rate, seconds);
  // Wait until every live listener has every accepted message, delivery stalls, or the limit passes.
  const drainStart = performance.now();
  let lastReceived = -1;
  let lastChange = drainStart;
  let allDelivered = false;
  for (;;) {
    const state = await progress(published.accepted);
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
  const drainedMs = performance.now() - drainStart;
  const wallSeconds = (performance.now() - wallStart) / 1000;
  const cpuAfter = { hookd: await cpuMsOf(hookd!.child.pid!), nats: await cpuMsOf(nats!.pid), publisher: process.cpuUsage(cpuBefore.publisher), machine: await machineTicks() };
  const hookdLag = await hookdEventLoopLag(base, authorization);
  const reports = await Promise.all(clients.map((client) => client.ask<ListenerReport>({ type: "report", published: published.accepted })));

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
  for (const report of reports) for (const [reason, count] of Object.entries(report.cutReasons)) cutReasons[reason] = (cutReasons[reason] ?? 0) + count;
  const cpu = {
    hookd: (cpuAfter.hookd - cpuBefore.hookd) / 10 / wallSeconds,
    nats: (cpuAfter.nats - cpuBefore.nats) / 10 / wallSeconds,
    publisher: (cpuAfter.publisher.user + cpuAfter.publisher.system) / 1000 / 10 / wallSeconds,
    // Of both cores: 200% is everything.
    machine: ((cpuAfter.machine.busy - cpuBefore.machine.busy) / Math.max(1, cpuAfter.machine.total - cpuBefore.machine.total)) * 200,
    others: 0,
    clients: reports.map((r) => r.cpuMs / 10 / wallSeconds),
    clientElu: reports.map((r) => r.eventLoopUtilization),
  };
  cpu.others = Math.max(0, cpu.machine - cpu.hookd - cpu.nats - cpu.publisher - cpu.clients.reduce((a, b) => a + b, 0));
  const first = Math.min(...reports.map((r) => r.firstArrival || Infinity));
  const last = Math.max(...reports.map((r) => r.lastArrival));
  return {
    rate,
    listeners,
    publish: published,
    drainedMs,
    allDelivered,
    p50: percentile(0.5),
    p99: percentile(0.99),
    max: buckets.length ? msOfBucket(buckets.at(-1)![0]) : NaN,
    pairs,
    // Listeners that were never connected, or were cut off, count every message they lacked.
    missed: sum((r) => r.missed) + (listeners - sum((r) => r.listeners)) * published.accepted,
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
    cpu,
    hookdLag,
  };
}

const cpuText = (r: PhaseResult) =>
  `CPU (of one core) hookd ${fmt(r.cpu.hookd)}%, nats ${fmt(r.cpu.nats)}%, publisher ${fmt(r.cpu.publisher)}%, listener processes ${r.cpu.clients.map((c) => `${fmt(c)}%`).join("/")} ` +
  `(their event loops busy ${r.cpu.clientElu.map((e) => `${fmt(e * 100)}%`).join("/")}), machine ${fmt(r.cpu.machine)}% of 200% (other processes on the machine ${fmt(r.cpu.others)}%); hookd event-loop delay p99 ${fmt(r.hookdLag.p99)} ms, max ${fmt(r.hookdLag.max)} ms`;

function describe(label: string, r: PhaseResult): void {
  log(
    `${label}: ${fmt(r.rate)} msg/s offered, ${fmt(r.publish.accepted)}/${fmt(r.publish.attempted)} accepted in ${fmt(r.publish.seconds, 1)} s` +
      `${r.publish.failed ? ` (${r.publish.failed} failed: ${Object.entries(r.publish.errors).map(([kind, n]) => `${n}× ${kind}`).join("; ")})` : ""}${r.publish.inflightBound ? ` (publisher hit ${MAX_INFLIGHT} in flight)` : ""}${r.publish.cutShort ? ` (publisher gave up at ${PUBLISH_OVERRUN}× the phase's time: hookd answered too slowly)` : ""}, ack p50 ${fmt(r.publish.ackP50, 1)} ms p99 ${fmt(r.publish.ackP99, 1)} ms; ` +
      `p50 ${fmt(r.p50, 1)} ms, p99 ${fmt(r.p99, 1)} ms, max ${fmt(r.max)} ms over ${fmt(r.pairs)} pairs; missed ${fmt(r.missed)}; ` +
      `${r.allDelivered ? `all delivered ${fmt(r.drainedMs)} ms after the last ack` : `NOT all delivered (gave up ${fmt(r.drainedMs)} ms after the last ack; ${fmt(r.complete)}/${fmt(r.listeners)} listeners complete)`}; ` +
      `${fmt(r.deliveredFramesPerSecond)} frames/s received; cut off ${r.cutOff}${r.cutOff ? ` ${JSON.stringify(r.cutReasons)}` : ""}, closed ${r.closedUnexpectedly}, alive ${fmt(r.alive)}` +
      `${r.duplicates ? `, duplicates ${r.duplicates}` : ""}${r.late ? `, ${fmt(r.late)} late frames of an earlier phase` : ""}${r.negative ? `, ${r.negative} negative latencies` : ""}${r.distinctMax > r.publish.accepted ? `, a listener got ${fmt(r.distinctMax)} messages: ${fmt(r.distinctMax - r.publish.accepted)} publish(es) answered as failed were stored and delivered` : ""}; ${cpuText(r)}`,
  );
}

// ---------------------------------------------------------------------------------------------

type CountResult = {
  listeners: number;
  connect: { ok: number; failed: number; seconds: number; errors: string[] };
  rss: { empty: number; idle: number; afterLatency: number; afterSteps: number; peak: number };
  idleCpu: number;
  latency: PhaseResult | null;
  steps: PhaseResult[];
  /** Every phase run, warm-up included. */
  phases: PhaseResult[];
  best: PhaseResult | null;
  firstFailing: PhaseResult | null;
  stopSeconds: number;
  hookdProblems: string[];
  hookdExited: string | null;
};

const passes = (r: PhaseResult) => r.allDelivered && r.missed === 0 && r.cutOff === 0 && r.closedUnexpectedly === 0 && r.p99 < STEP_P99_MS && r.publish.failed === 0 && r.publish.achievedRate >= r.rate * 0.95;

async function measure(listeners: number, authorization: string): Promise<CountResult> {
  log(`── ${fmt(listeners)} listeners: starting a fresh hookd`);
  hookd = await startHookd(nats!.url, KEY, HOOKD_ENV, HOOKD_NODE_ARGS);
  const hookdProcess = hookd;
  log(`hookd pid ${hookdProcess.child.pid} at ${hookdProcess.url}`);
  let hookdExited: string | null = null;
  hookdProcess.child.once("exit", (code, signal) => (hookdExited = `hookd exited (${code ?? signal})`));
  const base = hookdProcess.url;
  const pid = hookdProcess.child.pid!;
  // One publish first: the topic's first message creates what publishing needs, outside the figures.
  await fetch(`${base}/pub/${TOPIC}`, { method: "POST", body: "0|0|0", headers: { authorization, "content-type": "text/plain" } });
  await sleep(500);
  const empty = (await memoryOf(pid)).rssMb;

  clients = Array.from({ length: CLIENTS }, () => new ListenerChild());
  const connectStart = performance.now();
  const shares = clients.map((_, i) => Math.floor(listeners / CLIENTS) + (i < listeners % CLIENTS ? 1 : 0));
  const opened = await Promise.all(
    clients.map((client, i) =>
      client.ask<Extract<FromListeners, { type: "opened" }>>({ type: "open", url: `${base}/sse/${TOPIC}`, authorization, count: shares[i]!, concurrency: CONNECT_CONCURRENCY }, 90_000),
    ),
  );
  const connect = {
    ok: opened.reduce((n, o) => n + o.ok, 0),
    failed: opened.reduce((n, o) => n + o.failed, 0),
    seconds: (performance.now() - connectStart) / 1000,
    errors: opened.flatMap((o) => o.errors).slice(0, 5),
  };
  log(`connected ${fmt(connect.ok)}/${fmt(listeners)} SSE listeners over ${CLIENTS} processes in ${fmt(connect.seconds, 1)} s${connect.failed ? `; ${connect.failed} failed: ${connect.errors.join("; ")}` : ""}`);
  await sleep(1_000);
  const idleCpuStart = await cpuMsOf(pid);
  await sleep(2_000);
  const idleCpu = ((await cpuMsOf(pid)) - idleCpuStart) / 20;
  const idle = (await memoryOf(pid)).rssMb;
  log(
    `hookd RSS: ${fmt(empty)} MiB with no listener, ${fmt(idle)} MiB with ${fmt(connect.ok)} idle listeners (${fmt(((idle - empty) * 1024) / Math.max(1, connect.ok), 1)} KiB each); ` +
      `hookd CPU while they idle ${fmt(idleCpu)}%`,
  );

  for (const client of clients) await client.syncClock();
  log(`listener clocks minus the publisher's: ${clients.map((c) => `${c.offsetMs.toFixed(3)} ms (±${(c.rttMs / 2).toFixed(3)})`).join(", ")}; corrected for`);

  const warm = await runPhase(base, authorization, listeners, Math.max(1, Math.min(RATE, Math.round(WARMUP_FRAMES / listeners))), WARMUP_SECONDS, 10_000);
  describe(`warm-up (${WARMUP_SECONDS} s, not counted)`, warm);
  let latency: PhaseResult | null = null;
  if (timeLeft() > SECONDS * 1000 + 10_000) {
    latency = await runPhase(base, authorization, listeners, RATE, SECONDS, 20_000);
    describe(`latency (${SECONDS} s)`, latency);
  } else log("skipping the latency phase: out of time");
  const afterLatency = (await memoryOf(pid)).rssMb;
  log(`hookd RSS after the latency phase: ${fmt(afterLatency)} MiB`);

  const steps: PhaseResult[] = [];
  let best: PhaseResult | null = null;
  let firstFailing: PhaseResult | null = null;
  const rates = [...new Set(STEP_FRAMES.map((frames) => Math.max(1, Math.round(frames / listeners))))];
  // The other listener counts still to come need time too.
  const reserve = (COUNTS.length - 1 - COUNTS.indexOf(listeners)) * 60_000;
  for (const rate of rates) {
    if (timeLeft() - reserve < (STEP_SECONDS * 1000 + STEP_DRAIN_MS + 5_000)) {
      log(`stopping the rate steps before ${fmt(rate)} msg/s: out of time`);
      break;
    }
    const step = await runPhase(base, authorization, listeners, rate, STEP_SECONDS, STEP_DRAIN_MS);
    steps.push(step);
    describe(`step ${fmt(rate)} msg/s × ${fmt(listeners)} = ${fmt(rate * listeners)} frames/s`, step);
    if (passes(step)) best = step;
    else {
      firstFailing = step;
      break;
    }
  }
  const memory = await memoryOf(pid);
  log(`hookd RSS after the rate steps: ${fmt(memory.rssMb)} MiB (peak ${fmt(memory.peakMb)} MiB)`);

  await Promise.allSettled(clients.map((client) => client.close()));
  clients = [];
  const stopStart = performance.now();
  await stop(hookdProcess.child, 15_000);
  const stopSeconds = (performance.now() - stopStart) / 1000;
  await rm(hookdProcess.dataDir, { recursive: true, force: true });
  hookd = null;
  return {
    listeners,
    connect,
    rss: { empty, idle, afterLatency, afterSteps: memory.rssMb, peak: memory.peakMb },
    idleCpu,
    latency,
    steps,
    phases: [warm, ...(latency ? [latency] : []), ...steps],
    best,
    firstFailing,
    stopSeconds,
    hookdProblems: hookdProcess.problems,
    hookdExited: hookdExited && !/SIGTERM|^hookd exited \(0\)$/.test(hookdExited) ? hookdExited : null,
  };
}

function table(results: CountResult[]): void {
  const rows: [string, (r: CountResult) => string][] = [
    ["connected (time)", (r) => `${fmt(r.connect.ok)} (${fmt(r.connect.seconds, 1)} s)${r.connect.failed ? `, ${r.connect.failed} failed` : ""}`],
    [`latency p50 / p99 at ${RATE} msg/s`, (r) => (r.latency ? `${fmt(r.latency.p50, 1)} / ${fmt(r.latency.p99, 1)} ms` : "–")],
    ["latency max", (r) => (r.latency ? `${fmt(r.latency.max)} ms` : "–")],
    ["messages published (accepted/offered)", (r) => (r.latency ? `${fmt(r.latency.publish.accepted)}/${fmt(r.latency.publish.attempted)} in ${fmt(r.latency.publish.seconds, 1)} s${r.latency.publish.cutShort ? " (cut short)" : ""}` : "–")],
    ["publish ack p50 / p99 (latency)", (r) => (r.latency ? `${fmt(r.latency.publish.ackP50, 1)} / ${fmt(r.latency.publish.ackP99, 1)} ms` : "–")],
    ["(listener, message) pairs; missed", (r) => (r.latency ? `${fmt(r.latency.pairs)}; ${fmt(r.latency.missed)}` : "–")],
    ["cut off / closed in latency phase", (r) => (r.latency ? `${r.latency.cutOff} / ${r.latency.closedUnexpectedly}` : "–")],
    ["CPU hookd / machine / others (latency)", (r) => (r.latency ? `${fmt(r.latency.cpu.hookd)}% / ${fmt(r.latency.cpu.machine)}% / ${fmt(r.latency.cpu.others)}%` : "–")],
    ["listener event loops busy (latency)", (r) => (r.latency ? r.latency.cpu.clientElu.map((e) => `${fmt(e * 100)}%`).join(" / ") : "–")],
    ["saturated (latency phase)", (r) => (r.latency ? limitOf(r.latency) : "–")],
    ["hookd event-loop delay p99 (latency)", (r) => (r.latency ? `${fmt(r.latency.hookdLag.p99)} ms` : "–")],
    ["hookd RSS: no listener", (r) => `${fmt(r.rss.empty)} MiB`],
    ["hookd RSS: listeners idle", (r) => `${fmt(r.rss.idle)} MiB`],
    ["hookd RSS: after latency phase", (r) => `${fmt(r.rss.afterLatency)} MiB`],
    ["hookd RSS: after steps (peak)", (r) => `${fmt(r.rss.afterSteps)} MiB (${fmt(r.rss.peak)})`],
    ["max sustained msg/s per listener", (r) => (r.best ? `${fmt(r.best.rate)}` : r.steps.length ? `< ${fmt(r.steps[0]!.rate)}` : "–")],
    ["  = total frames/s", (r) => (r.best ? `${fmt(r.best.rate * r.listeners)}` : "–")],
    ["  p99 at that rate", (r) => (r.best ? `${fmt(r.best.p99, 1)} ms` : "–")],
    ["first failing step", (r) => (r.firstFailing ? `${fmt(r.firstFailing.rate)} msg/s (${whyFailed(r.firstFailing)})` : r.steps.length ? "none (ran out of steps)" : "–")],
    ["  saturated then", (r) => (r.firstFailing ? limitOf(r.firstFailing) : "–")],
    ["cut off / closed (all phases)", (r) => `${r.phases.reduce((n, p) => n + p.cutOff, 0)} / ${r.phases.reduce((n, p) => n + p.closedUnexpectedly, 0)}`],
    ["hookd stop time", (r) => `${fmt(r.stopSeconds, 1)} s`],
    ["hookd warn/error log lines", (r) => String(r.hookdProblems.length)],
    ["hookd CPU with listeners idle", (r) => `${fmt(r.idleCpu)}%`],
    ["others' CPU, max over phases", (r) => `${fmt(Math.max(...r.phases.map((p) => p.cpu.others)))}% (shared machine)`],
  ];
  const header = ["", ...results.map((r) => `${fmt(r.listeners)} listeners`)];
  const body = rows.map(([name, cell]) => [name, ...results.map(cell)]);
  const widths = header.map((_, i) => Math.max(...[header, ...body].map((row) => row[i]!.length)));
  const line = (row: string[]) => `| ${row.map((cell, i) => cell.padEnd(widths[i]!)).join(" | ")} |`;
  console.log(line(header));
  console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
  for (const row of body) console.log(line(row));
}

/** Which side was saturated during a phase, judged from CPU: a Node process's JavaScript runs on one core. */
function limitOf(r: PhaseResult): string {
  const saturated: string[] = [];
  if (r.cpu.clientElu.some((elu) => elu >= 0.9)) saturated.push("listener processes");
  if (r.cpu.hookd >= 90) saturated.push(`hookd (${fmt(r.cpu.hookd)}% CPU)`);
  if (r.cpu.publisher >= 90) saturated.push("publisher");
  if (r.cpu.machine >= 185) saturated.push(`machine (${fmt(r.cpu.machine)}%/200%)`);
  return saturated.length ? saturated.join(" + ") : `none (machine ${fmt(r.cpu.machine)}%/200%)`;
}

function whyFailed(r: PhaseResult): string {
  const reasons: string[] = [];
  if (r.cutOff) reasons.push(`${r.cutOff} cut off`);
  if (r.closedUnexpectedly) reasons.push(`${r.closedUnexpectedly} closed`);
  if (!r.allDelivered) reasons.push(`${fmt(r.complete)}/${fmt(r.listeners)} complete after ${fmt(r.drainedMs / 1000, 1)} s`);
  if (r.p99 >= STEP_P99_MS) reasons.push(`p99 ${fmt(r.p99)} ms`);
  if (r.publish.failed) reasons.push(`${r.publish.failed} publishes failed`);
  if (r.publish.achievedRate < r.rate * 0.95) reasons.push(`publisher reached ${fmt(r.publish.achievedRate)}/s`);
  return reasons.join(", ");
}

async function main(): Promise<number> {
  const needed = Math.max(...COUNTS) + 1_024;
  const limit = await openFilesLimit();
  if (limit < needed) {
    console.error(
      `bench/streams: the open-files limit (ulimit -n) is ${limit}, but ${fmt(Math.max(...COUNTS))} listeners need at least ${fmt(needed)} ` +
        `(hookd holds one socket per listener). Raise it first, e.g. "ulimit -n 20000" in this shell, or run with fewer: BENCH_LISTENERS=1000.`,
    );
    return 2;
  }
  const [low, high] = (await readFile("/proc/sys/net/ipv4/ip_local_port_range", "utf8")).trim().split(/\s+/).map(Number);
  if (high! - low! + 1 < Math.max(...COUNTS) + 1_000) {
    console.error(`bench/streams: the local port range (${low}–${high}) is too small for ${fmt(Math.max(...COUNTS))} connections from 127.0.0.1.`);
    return 2;
  }
  console.log(
    `hookd bench/streams: listeners ${COUNTS.map((c) => fmt(c)).join(" then ")} on one topic (${TOPIC}) over ${CLIENTS} listener processes; ` +
      `latency at ${RATE} msg/s for ${SECONDS} s (after ${WARMUP_SECONDS} s warm-up); rate steps of ${STEP_SECONDS} s at total frames/s ${STEP_FRAMES.map((f) => fmt(f)).join(", ")} ` +
      `(a step passes if every listener has every message within ${STEP_DRAIN_MS / 1000} s of the last ack, none is cut off and p99 < ${fmt(STEP_P99_MS)} ms); ` +
      `publisher open loop, ≤ ${MAX_INFLIGHT} in flight; hookd env ${JSON.stringify(HOOKD_ENV)}; ulimit -n ${limit}; time limit ${TIMEOUT_S} s\n`,
  );

  natsDir = await mkdtemp(join(tmpdir(), "hookd-streams-nats-"));
  nats = await startNatsServer({ dir: natsDir });
  const authorization = `Bearer ${await new PathTokens(KEY).tokenFor("/")}`;
  const results: CountResult[] = [];
  for (const listeners of COUNTS) {
    if (timeLeft() < 30_000) {
      log(`skipping ${fmt(listeners)} listeners: out of time`);
      break;
    }
    results.push(await measure(listeners, authorization));
  }
  await cleanup();

  console.log(`\nsummary (${fmt((performance.now() - startedAt) / 1000, 0)} s in all)`);
  table(results);
  for (const result of results) {
    if (result.hookdExited) console.log(`\n${fmt(result.listeners)} listeners: ${result.hookdExited}`);
    if (result.hookdProblems.length) {
      console.log(`\nhookd's warnings and errors with ${fmt(result.listeners)} listeners (${result.hookdProblems.length}, first 5):`);
      for (const line of result.hookdProblems.slice(0, 5)) console.log(`  ${line.slice(0, 400)}`);
    }
  }
  return 0;
}

let code = 1;
try {
  code = await main();
} catch (error) {
  console.error("bench/streams failed:", error);
} finally {
  await cleanup();
}
process.exit(code);
