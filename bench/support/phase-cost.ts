import { readFile } from "node:fs/promises";
import { cpus } from "node:os";
import { type NatsTraffic, natsTrafficOf, trafficPer } from "./nats-traffic.ts";
import { cpuMsOf, machineTicks, mainThreadCpuMsOf } from "./processes.ts";

/**
 * What a phase of load cost: CPU ms of each process named (and of the main thread of each Node
 * process among them), NATS messages (every client's), and how many of the machine's cores were
 * busy on average (every process, the bench's own and its load generator's included) or taken by
 * the host for other guests (steal). Beside a rate or a latency it says which process was the
 * limit, and whether the figure was taken with cores to spare.
 */
export type PhaseCost<T> = {
  result: T;
  seconds: number;
  cpuMs: Record<string, number>;
  /** Of the Node processes named in `nodeProcesses`: their main thread's CPU ms. */
  mainThreadMs: Record<string, number>;
  traffic: NatsTraffic;
  busyCores: number;
  stealCores: number;
  /** Share of the phase's wall time during which at least one process waited for a core; null when unknown. */
  waitingShare: number | null;
  cores: number;
};

/** Microseconds, since boot, during which at least one task waited for a core; null without PSI. */
async function cpuWaitingUs(): Promise<number | null> {
  const some = await readFile("/proc/pressure/cpu", "utf8").then((text) => /^some .*total=(\d+)/m.exec(text)?.[1])
    .catch(() => undefined);
  return some === undefined ? null : Number(some);
}

export async function phaseCost<T, Name extends string>(
  pids: Record<Name, number>,
  monitorPort: number,
  run: () => Promise<T>,
  nodeProcesses: readonly NoInfer<Name>[] = [],
): Promise<PhaseCost<T>> {
  const names = Object.keys(pids) as Name[];
  const each = (read: (pid: number) => Promise<number>, of: readonly Name[]) =>
    Promise.all(of.map((name) => read(pids[name])));
  const reading = async () => ({
    cpuMs: await each(cpuMsOf, names),
    mainThreadMs: await each(mainThreadCpuMsOf, nodeProcesses),
    traffic: await natsTrafficOf(monitorPort),
    ticks: await machineTicks(),
    waitingUs: await cpuWaitingUs(),
    // The pressure counter's own moment: the readings before it take a few ms (HTTP to the monitor).
    at: performance.now(),
  });
  const before = await reading();
  const started = performance.now();
  const result = await run();
  const seconds = (performance.now() - started) / 1000;
  const after = await reading();
  const cores = cpus().length;
  const spent = (of: readonly Name[], from: number[], to: number[]) =>
    Object.fromEntries(of.map((name, i) => [name, to[i]! - from[i]!]));
  const ticks = after.ticks.total - before.ticks.total;
  return {
    result,
    seconds,
    cpuMs: spent(names, before.cpuMs, after.cpuMs),
    mainThreadMs: spent(nodeProcesses, before.mainThreadMs, after.mainThreadMs),
    traffic: trafficPer(before.traffic, after.traffic, 1),
    busyCores: ((after.ticks.busy - before.ticks.busy) / ticks) * cores,
    stealCores: ((after.ticks.steal - before.ticks.steal) / ticks) * cores,
    waitingShare: after.waitingUs === null || before.waitingUs === null
      ? null
      : (after.waitingUs - before.waitingUs) / 1e3 / (after.at - before.at),
    cores,
  };
}

/**
 * Each process's CPU as cores busy over the phase (a Node process's main thread in brackets), then the
 * machine's: "cores busy: hookd 1.01 (main thread 0.93), nats-server 0.08; the whole machine 1.32 of 2,
 * steal 0.00, some process waiting for a core 12% of the time".
 */
export function coresBusy(cost: PhaseCost<unknown>): string {
  const coresOf = (ms: number) => (ms / 1000 / cost.seconds).toFixed(2);
  const each = Object.entries(cost.cpuMs).map(([name, ms]) => {
    const main = cost.mainThreadMs[name];
    return `${name} ${coresOf(ms)}${main === undefined ? "" : ` (main thread ${coresOf(main)})`}`;
  });
  const waiting = cost.waitingShare === null
    ? ""
    : `, some process waiting for a core ${(cost.waitingShare * 100).toFixed(0)}% of the time`;
  return `cores busy: ${each.join(", ")}; the whole machine ${cost.busyCores.toFixed(2)} of ${cost.cores}, steal ${
    cost.stealCores.toFixed(2)
  }${waiting}`;
}
