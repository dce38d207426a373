import { spawnSync } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import { PathTokens } from "../../src/domain/path-tokens.ts";
import { type Child, spawnHookd, spawnReady } from "../../test/support/processes.ts";
import { sleep } from "./figures.ts";

/**
 * The processes a bench runs beside itself, so hookd does not share a core with the load generator:
 * hookd with the bench settings and the bench's webhook receiver (both started through the helper the
 * tests use, test/support/processes.ts), and what /proc says about them (memory, CPU time).
 */

export const BENCH_KEY = "bench-key-0123456789abcdef";
export const benchTokens = new PathTokens(BENCH_KEY);

let built = false;

/**
 * hookd as npm start runs it (bin/serve.mjs: the server's bundle, built here once per bench so it is current;
 * `nodeArgs` for node such as --cpu-prof) against `natsUrl`; resolves once it listens.
 */
export function startHookd(natsUrl: string, env: Record<string, string> = {}, nodeArgs: string[] = []) {
  if (!built) {
    const build = spawnSync("npm", ["run", "--silent", "build:server"], { stdio: "inherit" });
    if (build.status !== 0) throw new Error("npm run build:server failed");
    built = true;
  }
  return spawnHookd({
    env: { NATS_URL: natsUrl, HOOKD_KEY: BENCH_KEY, HOOKD_PORT: "0", HOOKD_ALLOWED_NETWORKS: "127.0.0.0/8", ...env },
    command: [process.execPath, ...nodeArgs, "bin/serve.mjs"],
    // A bench's console is where hookd's crash would be seen.
    stderr: "inherit",
  });
}

/** bench/receiver.ts answering every delivery with `status`; resolves once it prints its port. */
export async function startReceiver(status = 200): Promise<Child & { url: string }> {
  const { ready: port, ...receiver } = await spawnReady({
    what: "bench/receiver.ts",
    command: [process.execPath, "--import", "tsx", "bench/receiver.ts"],
    env: { RECEIVER_STATUS: String(status) },
    stderr: "inherit",
    ready: (line) => (/^\d+$/.test(line) ? line : undefined),
  });
  return { ...receiver, url: `http://127.0.0.1:${port}` };
}

/** bench/http-floor.ts: hookd's HTTP stack with nothing behind it; resolves once it prints its port. */
export async function startHttpFloor(): Promise<Child & { url: string }> {
  const { ready: port, ...floor } = await spawnReady({
    what: "bench/http-floor.ts",
    command: [process.execPath, "--import", "tsx", "bench/http-floor.ts"],
    stderr: "inherit",
    ready: (line) => (/^\d+$/.test(line) ? line : undefined),
  });
  return { ...floor, url: `http://127.0.0.1:${port}` };
}

/** What bench/receiver.ts has seen since its last reset: deliveries, distinct ones, first and latest arrival (ms). */
export type ReceiverStats = { count: number; distinct: number; first: number | null; last: number | null };

export async function receiverStats(receiverUrl: string): Promise<ReceiverStats> {
  return (await fetch(`${receiverUrl}/__stats`)).json() as Promise<ReceiverStats>;
}

/**
 * The receiver's stats once `count` deliveries have arrived, or as they stand after `giveUpMs` (a
 * bench stops by itself: a delivery lost must not keep it waiting); the caller decides what a
 * shortfall means.
 */
export async function untilArrived(receiverUrl: string, count: number, giveUpMs = 10 * 60_000): Promise<ReceiverStats> {
  let stats = await receiverStats(receiverUrl);
  for (const giveUpAt = Date.now() + giveUpMs; stats.count < count && Date.now() < giveUpAt;) {
    await sleep(100);
    stats = await receiverStats(receiverUrl);
  }
  return stats;
}

/** VmRSS and VmHWM (peak RSS) of a process, in MiB. */
export async function memoryOf(pid: number): Promise<{ rssMb: number; peakMb: number }> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN);
  return { rssMb: kb("VmRSS") / 1024, peakMb: kb("VmHWM") / 1024 };
}

/** CPU time (user + system) a process has used so far, in ms; NaN once it is gone. */
export function cpuMsOf(pid: number): Promise<number> {
  return cpuMsIn(`/proc/${pid}/stat`);
}

/** CPU ms of a process's main thread alone, where Node runs its JavaScript (GC helpers and libuv's pool left out). */
export function mainThreadCpuMsOf(pid: number): Promise<number> {
  return cpuMsIn(`/proc/${pid}/task/${pid}/stat`);
}

async function cpuMsIn(statFile: string): Promise<number> {
  const stat = await readFile(statFile, "utf8").catch(() => "");
  // Fields after the command name (which may hold spaces) start at field 3; utime and stime are fields 14 and 15, in clock ticks (100/s on Linux).
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return fields.length > 13 ? (Number(fields[11]) + Number(fields[12])) * 10 : NaN;
}

/** The pid of a running process whose command name is `name` (e.g. the machine's redis-server), or null. */
export async function pidNamed(name: string): Promise<number | null> {
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const comm = await readFile(`/proc/${entry}/comm`, "utf8").catch(() => "");
    if (comm.trim() === name) return Number(entry);
  }
  return null;
}

/**
 * Jiffies of the whole machine, from /proc/stat: busy (this VM's own work), steal (what the host gave
 * other guests while this one waited to run) and their total with idle. Guest time is already in user
 * time, so it is not added again.
 */
export async function machineTicks(): Promise<{ busy: number; steal: number; total: number }> {
  const [user, nice, system, idle, iowait, irq, softirq, steal] = (await readFile("/proc/stat", "utf8"))
    .split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  const busy = user! + nice! + system! + (irq ?? 0) + (softirq ?? 0);
  return { busy, steal: steal ?? 0, total: busy + idle! + (iowait ?? 0) + (steal ?? 0) };
}

/** The soft limit on open files of this process (children inherit it). */
export async function openFilesLimit(): Promise<number> {
  const limits = await readFile("/proc/self/limits", "utf8");
  const soft = /Max open files\s+(\S+)/.exec(limits)?.[1];
  return soft === "unlimited" ? Infinity : Number(soft);
}
