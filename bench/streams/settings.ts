/**
 * bench/streams' settings, from the BENCH_* variables that bench/streams.ts lists, and its clock:
 * when the run started, how much of its time limit is left, and log lines stamped with the time since.
 */

const list = (text: string) => text.split(",").map((part) => Number(part.trim())).filter((n) => n > 0);
export const COUNTS = list(process.env.BENCH_LISTENERS ?? "1000,10000");
export const RATE = Number(process.env.BENCH_RATE ?? 100);
export const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
export const CLIENTS = Math.max(1, Number(process.env.BENCH_CLIENTS ?? 2));
export const STEP_SECONDS = Number(process.env.BENCH_STEP_SECONDS ?? 4);
export const STEP_FRAMES = list(process.env.BENCH_STEP_FRAMES ?? "50000,100000,150000,200000,300000,400000");
export const TIMEOUT_S = Number(process.env.BENCH_TIMEOUT ?? 170);
export const WARMUP_SECONDS = 2;
/** The warm-up offers at most this many frames/s (rate × listeners), so it stays short when hookd cannot keep up. */
export const WARMUP_FRAMES = 50_000;
/** A phase's publisher stops offering once it is this far behind its schedule: the phase stays bounded when hookd slows. */
export const PUBLISH_OVERRUN = 1.5;
export const MAX_INFLIGHT = Number(process.env.BENCH_MAX_INFLIGHT ?? 64);
export const CONNECT_CONCURRENCY = 64;
/** A step passes when every listener has every message this long after the last publish was acknowledged, and p99 stays under STEP_P99_MS. */
export const STEP_DRAIN_MS = 3_000;
export const STEP_P99_MS = 1_000;
export const TOPIC = "bench/streams";
export const HOOKD_ENV: Record<string, string> = { HOOKD_STREAM_MAX_PER_TOKEN: "100000" };
// e.g. BENCH_HOOKD_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile hookd alone.
export const HOOKD_NODE_ARGS = (process.env.BENCH_HOOKD_NODE_ARGS ?? "").split(" ").filter(Boolean);

export const startedAt = performance.now();
const deadline = startedAt + TIMEOUT_S * 1000;
export const timeLeft = () => deadline - performance.now();
export const now = () => performance.timeOrigin + performance.now();
export const log = (line: string) =>
  console.log(`[${((performance.now() - startedAt) / 1000).toFixed(1).padStart(5)}s] ${line}`);
