import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Shared helpers for benchmarks that run hookd as a separate process (the approach of
 * bench/dispatch.ts and bench/fanout.ts): spawn it, read its figures from /proc, stop it.
 */

export type HookdProcess = {
  url: string;
  child: ChildProcess;
  dataDir: string;
  /** hookd's log lines at warn level or above (pino levels 40+), as they came. */
  problems: string[];
};

/** Starts `src/main.node.ts` against `natsUrl` (with `nodeArgs` for node, e.g. --cpu-prof); resolves once it logs the URL it listens on. */
export async function startHookd(natsUrl: string, key: string, env: Record<string, string> = {}, nodeArgs: string[] = []): Promise<HookdProcess> {
  const dataDir = await mkdtemp(join(tmpdir(), "hookd-bench-"));
  const child = spawn(process.execPath, [...nodeArgs, "--import", "tsx", "src/main.node.ts"], {
    env: { ...process.env, NATS_URL: natsUrl, HOOKD_KEY: key, HOOKD_DATA_DIR: dataDir, HOOKD_PORT: "0", HOOKD_ALLOWED_NETWORKS: "127.0.0.0/8", HOOKD_LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const problems: string[] = [];
  let output = "";
  let partial = "";
  const url = await new Promise<string>((resolve, reject) => {
    child.once("exit", (code, signal) => {
      void rm(dataDir, { recursive: true, force: true }).catch(() => undefined);
      reject(new Error(`hookd exited (${code ?? signal}): ${output}`));
    });
    child.stdout!.on("data", (chunk: Buffer) => {
      const text = chunk.toString();
      if (output.length < 100_000) output += text;
      const lines = (partial + text).split("\n");
      partial = lines.pop()!;
      for (const line of lines) {
        const level = Number(/"level":(\d+)/.exec(line)?.[1] ?? 0);
        if (level >= 40 && problems.length < 1_000) problems.push(line);
        const match = /"url":"(http:\/\/[^"]+)"/.exec(line);
        if (match) resolve(match[1]!);
      }
    });
  });
  return { url, child, dataDir, problems };
}

/** SIGTERM, then SIGKILL if the child has not exited after `graceMs`. */
export async function stop(child: ChildProcess, graceMs = 10_000): Promise<void> {
  // A child killed by a signal has no exit code, only a signal code; either means it is gone.
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill("SIGTERM");
  });
}

/** VmRSS and VmHWM (peak RSS) of a process, in MiB. */
export async function memoryOf(pid: number): Promise<{ rssMb: number; peakMb: number }> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN);
  return { rssMb: kb("VmRSS") / 1024, peakMb: kb("VmHWM") / 1024 };
}

/** CPU time (user + system) a process has used so far, in ms; NaN once it is gone. */
export async function cpuMsOf(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
  // Fields after the command name (which may hold spaces) start at field 3; utime and stime are fields 14 and 15, in clock ticks (100/s on Linux).
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return fields.length > 13 ? (Number(fields[11]) + Number(fields[12])) * 10 : NaN;
}

/** The soft limit on open files of this process (children inherit it). */
export async function openFilesLimit(): Promise<number> {
  const limits = await readFile("/proc/self/limits", "utf8");
  const soft = /Max open files\s+(\S+)/.exec(limits)?.[1];
  return soft === "unlimited" ? Infinity : Number(soft);
}
