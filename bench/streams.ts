import { readFile } from "node:fs/promises";
import { startNats } from "../test/support/processes.ts";
import { fmt } from "./support/figures.ts";
import { benchTokens, openFilesLimit } from "./support/processes.ts";
import { type CountResult, measure } from "./streams/measure.ts";
import { printTable } from "./streams/report.ts";
import { cleanup, running } from "./streams/running.ts";
import {
  CLIENTS,
  COUNTS,
  HOOKD_ENV,
  log,
  MAX_INFLIGHT,
  RATE,
  SECONDS,
  startedAt,
  STEP_DRAIN_MS,
  STEP_FRAMES,
  STEP_P99_MS,
  STEP_SECONDS,
  timeLeft,
  TIMEOUT_S,
  TOPIC,
  WARMUP_SECONDS,
} from "./streams/settings.ts";

/**
 * bench/streams: topic streams over SSE with 1,000 and 10,000 concurrent listeners on one topic.
 * For each count, on a fresh hookd: publish → receive latency at BENCH_RATE messages/s for
 * BENCH_SECONDS, hookd's RSS, and the highest stepped publish rate at which every listener still
 * got every message. Listeners are real HTTP clients in BENCH_CLIENTS child processes
 * (bench/streams/sse-listeners.ts). Prints figures; asserts nothing.
 *
 * Env: BENCH_LISTENERS (default "1000,10000"), BENCH_RATE (100), BENCH_SECONDS (10), BENCH_CLIENTS (2),
 * BENCH_STEP_SECONDS (4), BENCH_STEP_FRAMES (total frames/s targets, default "50000,100000,150000,200000,300000,400000"),
 * BENCH_MAX_INFLIGHT (publishes awaiting an answer, 64), BENCH_HOOKD_NODE_ARGS (extra node flags for hookd, e.g. --cpu-prof),
 * BENCH_TIMEOUT (seconds for the whole run, default 170; the script stops itself after it).
 *
 * This file is the run: checks, the listener counts in turn, the summary. The jobs live in
 * bench/streams/: settings.ts (these variables), measure.ts (one listener count), phase.ts (one
 * phase), publisher.ts, listener-child.ts and sse-listeners.ts (the listener processes), report.ts
 * (what is printed) and running.ts (what is stopped on the way out).
 */

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

async function main(): Promise<number> {
  const needed = Math.max(...COUNTS) + 1_024;
  const limit = await openFilesLimit();
  if (limit < needed) {
    console.error(
      `bench/streams: the open-files limit (ulimit -n) is ${limit}, but ${
        fmt(Math.max(...COUNTS))
      } listeners need at least ${fmt(needed)} ` +
        `(hookd holds one socket per listener). Raise it first, e.g. "ulimit -n 20000" in this shell, or run with fewer: BENCH_LISTENERS=1000.`,
    );
    return 2;
  }
  const [low, high] = (await readFile("/proc/sys/net/ipv4/ip_local_port_range", "utf8")).trim().split(/\s+/).map(
    Number,
  );
  if (high! - low! + 1 < Math.max(...COUNTS) + 1_000) {
    console.error(
      `bench/streams: the local port range (${low}–${high}) is too small for ${
        fmt(Math.max(...COUNTS))
      } connections from 127.0.0.1.`,
    );
    return 2;
  }
  console.log(
    `hookd bench/streams: listeners ${
      COUNTS.map((c) => fmt(c)).join(" then ")
    } on one topic (${TOPIC}) over ${CLIENTS} listener processes; ` +
      `latency at ${RATE} msg/s for ${SECONDS} s (after ${WARMUP_SECONDS} s warm-up); rate steps of ${STEP_SECONDS} s at total frames/s ${
        STEP_FRAMES.map((f) => fmt(f)).join(", ")
      } ` +
      `(a step passes if every listener has every message within ${
        STEP_DRAIN_MS / 1000
      } s of the last ack, none is cut off and p99 < ${fmt(STEP_P99_MS)} ms); ` +
      `publisher open loop, ≤ ${MAX_INFLIGHT} in flight; hookd env ${
        JSON.stringify(HOOKD_ENV)
      }; ulimit -n ${limit}; time limit ${TIMEOUT_S} s\n`,
  );

  running.nats = await startNats();
  const authorization = `Bearer ${await benchTokens.tokenFor("/")}`;
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
  printTable(results);
  for (const result of results) {
    if (result.hookdExited) console.log(`\n${fmt(result.listeners)} listeners: ${result.hookdExited}`);
    if (result.hookdProblems.length) {
      console.log(
        `\nhookd's warnings and errors with ${
          fmt(result.listeners)
        } listeners (${result.hookdProblems.length}, first 5):`,
      );
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
