import { cpus } from "node:os";
import { type NatsTraffic, natsTrafficOf } from "./nats-traffic.ts";
import { cpuMsOf, machineTicks } from "./processes.ts";

/**
 * What a phase of load cost: CPU ms of each process named, NATS messages (every client's), and how
 * many of the machine's cores were busy on average (every process, the bench's own and its load
 * generator's included). Beside a rate or a latency it says which process was the limit, and whether
 * the figure was taken with cores to spare.
 */
export type PhaseCost<T> = {
  result: T;
  seconds: number;
  cpuMs: Record<string, number>;
  traffic: NatsTraffic;
  busyCores: number;
  cores: number;
};

export async function phaseCost<T>(
  pids: Record<string, number>,
  monitorPort: number,
  run: () => Promise<T>,
): Promise<PhaseCost<T>> {
  const reading = async () => ({
    cpuMs: await Promise.all(Object.values(pids).map((pid) => cpuMsOf(pid))),
    traffic: await natsTrafficOf(monitorPort),
    ticks: await machineTicks(),
  });
  const before = await reading();
  const started = performance.now();
  const result = await run();
  const seconds = (performance.now() - started) / 1000;
  const after = await reading();
  const cores = cpus().length;
  return {
    result,
    seconds,
    cpuMs: Object.fromEntries(Object.keys(pids).map((name, i) => [name, after.cpuMs[i]! - before.cpuMs[i]!])),
    traffic: {
      inMsgs: after.traffic.inMsgs - before.traffic.inMsgs,
      outMsgs: after.traffic.outMsgs - before.traffic.outMsgs,
    },
    busyCores: ((after.ticks.busy - before.ticks.busy) / (after.ticks.total - before.ticks.total)) * cores,
    cores,
  };
}

/** Each process's CPU as cores busy over the phase, then the machine's: "hookd 1.00, nats-server 0.07; machine 1.31 of 2". */
export function coresBusy(cost: PhaseCost<unknown>): string {
  const each = Object.entries(cost.cpuMs).map(([name, ms]) => `${name} ${(ms / 1000 / cost.seconds).toFixed(2)}`);
  return `cores busy: ${each.join(", ")}; the whole machine ${cost.busyCores.toFixed(2)} of ${cost.cores}`;
}
