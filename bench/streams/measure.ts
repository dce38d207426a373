import { fmt, sleep } from "../support/figures.ts";
import { cpuMsOf, memoryOf, startHookd } from "../support/processes.ts";
import { ListenerChild } from "./listener-child.ts";
import { passes, type PhaseResult, type PhaseTarget, runPhase } from "./phase.ts";
import { logPhase } from "./report.ts";
import { running } from "./running.ts";
import {
  CLIENTS,
  CONNECT_CONCURRENCY,
  COUNTS,
  HOOKD_ENV,
  HOOKD_NODE_ARGS,
  log,
  RATE,
  SECONDS,
  STEP_DRAIN_MS,
  STEP_FRAMES,
  STEP_SECONDS,
  timeLeft,
  TOPIC,
  WARMUP_FRAMES,
  WARMUP_SECONDS,
} from "./settings.ts";
import type { FromListeners } from "./sse-listeners.ts";

/**
 * One listener count of bench/streams on a fresh hookd: connect the listeners, read hookd's memory
 * idle and busy, run the warm-up and latency phases, then rate steps until one fails or time runs out.
 */

export type CountResult = {
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

export async function measure(listeners: number, authorization: string): Promise<CountResult> {
  log(`── ${fmt(listeners)} listeners: starting a fresh hookd`);
  const hookdProcess = await startHookd(running.nats!.url, HOOKD_ENV, HOOKD_NODE_ARGS);
  running.hookd = hookdProcess;
  log(`hookd pid ${hookdProcess.child.pid} at ${hookdProcess.url}`);
  let hookdExited: string | null = null;
  hookdProcess.child.once("exit", (code, signal) => (hookdExited = `hookd exited (${code ?? signal})`));
  const base = hookdProcess.url;
  const pid = hookdProcess.child.pid!;
  // One publish first: the topic's first message creates what publishing needs, outside the figures.
  await fetch(`${base}/pub/${TOPIC}`, {
    method: "POST",
    body: "0|0|0",
    headers: { authorization, "content-type": "text/plain" },
  });
  await sleep(500);
  const empty = (await memoryOf(pid)).rssMb;

  const { clients, connect } = await connectListeners(base, authorization, listeners);
  await sleep(1_000);
  const idleCpuStart = await cpuMsOf(pid);
  await sleep(2_000);
  const idleCpu = ((await cpuMsOf(pid)) - idleCpuStart) / 20;
  const idle = (await memoryOf(pid)).rssMb;
  log(
    `hookd RSS: ${fmt(empty)} MiB with no listener, ${fmt(idle)} MiB with ${fmt(connect.ok)} idle listeners (${
      fmt(((idle - empty) * 1024) / Math.max(1, connect.ok), 1)
    } KiB each); ` +
      `hookd CPU while they idle ${fmt(idleCpu)}%`,
  );

  for (const client of clients) await client.syncClock();
  log(
    `listener clocks minus the publisher's: ${
      clients.map((c) => `${c.offsetMs.toFixed(3)} ms (±${(c.rttMs / 2).toFixed(3)})`).join(", ")
    }; corrected for`,
  );

  const target = { base, authorization, hookdPid: pid, natsPid: running.nats!.pid, clients };
  const warm = await runPhase(
    target,
    listeners,
    Math.max(1, Math.min(RATE, Math.round(WARMUP_FRAMES / listeners))),
    WARMUP_SECONDS,
    10_000,
  );
  logPhase(`warm-up (${WARMUP_SECONDS} s, not counted)`, warm);
  let latency: PhaseResult | null = null;
  if (timeLeft() > SECONDS * 1000 + 10_000) {
    latency = await runPhase(target, listeners, RATE, SECONDS, 20_000);
    logPhase(`latency (${SECONDS} s)`, latency);
  } else log("skipping the latency phase: out of time");
  const afterLatency = (await memoryOf(pid)).rssMb;
  log(`hookd RSS after the latency phase: ${fmt(afterLatency)} MiB`);

  const { steps, best, firstFailing } = await rateSteps(target, listeners);
  const memory = await memoryOf(pid);
  log(`hookd RSS after the rate steps: ${fmt(memory.rssMb)} MiB (peak ${fmt(memory.peakMb)} MiB)`);

  await Promise.allSettled(clients.map((client) => client.close()));
  running.clients = [];
  const stopStart = performance.now();
  await hookdProcess.stop(15_000);
  const stopSeconds = (performance.now() - stopStart) / 1000;
  running.hookd = null;
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

/** Opens `listeners` SSE listeners on the topic, shared out over CLIENTS listener processes. */
async function connectListeners(base: string, authorization: string, listeners: number) {
  const clients = Array.from({ length: CLIENTS }, () => new ListenerChild());
  running.clients = clients;
  const connectStart = performance.now();
  const shares = clients.map((_, i) => Math.floor(listeners / CLIENTS) + (i < listeners % CLIENTS ? 1 : 0));
  const opened = await Promise.all(
    clients.map((client, i) =>
      client.ask<Extract<FromListeners, { type: "opened" }>>({
        type: "open",
        url: `${base}/sse/${TOPIC}`,
        authorization,
        count: shares[i]!,
        concurrency: CONNECT_CONCURRENCY,
      }, 90_000)
    ),
  );
  const connect = {
    ok: opened.reduce((n, o) => n + o.ok, 0),
    failed: opened.reduce((n, o) => n + o.failed, 0),
    seconds: (performance.now() - connectStart) / 1000,
    errors: opened.flatMap((o) => o.errors).slice(0, 5),
  };
  log(
    `connected ${fmt(connect.ok)}/${fmt(listeners)} SSE listeners over ${CLIENTS} processes in ${
      fmt(connect.seconds, 1)
    } s${connect.failed ? `; ${connect.failed} failed: ${connect.errors.join("; ")}` : ""}`,
  );
  return { clients, connect };
}

/** Rate steps, slowest first, until one fails or time runs out. */
async function rateSteps(target: PhaseTarget, listeners: number) {
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
    const step = await runPhase(target, listeners, rate, STEP_SECONDS, STEP_DRAIN_MS);
    steps.push(step);
    logPhase(`step ${fmt(rate)} msg/s × ${fmt(listeners)} = ${fmt(rate * listeners)} frames/s`, step);
    if (passes(step)) best = step;
    else {
      firstFailing = step;
      break;
    }
  }
  return { steps, best, firstFailing };
}
