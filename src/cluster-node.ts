import cluster, { type Worker } from "node:cluster";

/**
 * HOOKD_PROCESSES under Node (decision record 41): the first process forks that many hookd processes,
 * which share the HTTP port through Node's cluster (connections handed out in turn); each one is an
 * instance of its own on the shared NATS, as instances on several machines are. The first process
 * serves nothing itself: it stops them all on a signal, or when one of them ends, and relays their
 * /metrics asks (src/cluster-metrics-node.ts).
 */

/** Set in the processes hookd forks: another launcher's cluster (PM2's) makes workers that are not hookd's. */
const FORKED = "HOOKD_FORKED_PROCESS";

/** True in a process hookd's first process forked. */
export const isForkedProcess = (): boolean => cluster.isWorker && process.env[FORKED] !== undefined;

/** A forked process's number (1 to HOOKD_PROCESSES), which its log lines carry; undefined in any other. */
export const forkedNumber = (): number | undefined => (isForkedProcess() ? Number(process.env[FORKED]) : undefined);

/** True when something other than hookd runs this process as a cluster worker: it cannot fork processes of its own. */
export const isOtherLaunchersWorker = (): boolean => cluster.isWorker && !isForkedProcess();

/**
 * A forked process's environment: marked as hookd's, one process itself (its configuration was checked
 * as the first one's, numbered instance id and all), and named per process when an instance id was given.
 */
export function forkedEnv(instanceId: string | undefined, index: number): Record<string, string> {
  const named: Record<string, string> = instanceId === undefined
    ? {}
    : { HOOKD_INSTANCE_ID: `${instanceId}-${index + 1}` };
  return { [FORKED]: String(index + 1), HOOKD_PROCESSES: "1", ...named };
}

/** Stopped on purpose (a signal, or told to by the first process), rather than ended by a crash or a refused start. */
const stoppedOnPurpose = (code: number, signal: string | null) =>
  signal === "SIGTERM" || signal === "SIGINT" || (signal === null && code === 0);

/**
 * The first process: forks `count` hookd processes and watches them. A signal stops them all; one that
 * ends on its own (a crash, NATS refusing it at start) stops the others too and hookd exits with its
 * code, so a supervisor (systemd) sees hookd end and restarts it whole, rather than running on with
 * fewer processes than it was told. One stopped on purpose (Ctrl-C reaches every process of the
 * group) stops the others, and hookd exits 0 unless one of them failed while stopping.
 */
export function superviseProcesses(
  count: number,
  instanceId: string | undefined,
  exit: (code: number) => never,
  stopWhenParentExits: (stop: () => void) => void,
): void {
  let stopping = false;
  const stopAll = () => {
    stopping = true;
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill("SIGTERM");
  };
  // Counted here, once each: Node drops a worker from cluster.workers only once both its exit and its disconnect are seen.
  const ended = new Set<number>();
  // The number its log lines carry (forkedNumber), beside its pid.
  const numbers = new Map<number, number>();
  const named = (worker: Worker) => `hookd process ${numbers.get(worker.id)} (pid ${worker.process.pid ?? "none"})`;
  const end = (worker: Worker, how: string, failure: number | null) => {
    if (ended.has(worker.id)) return;
    ended.add(worker.id);
    // Kept for a first process that ends on its own (its port closed) before the last exit is seen.
    if (failure !== null) process.exitCode = Math.max(Number(process.exitCode ?? 0), failure);
    if (!stopping) {
      console.error(`${named(worker)} ${how}; stopping the other processes`);
      stopAll();
    }
    if (ended.size === count) exit(Number(process.exitCode ?? 0));
  };
  cluster.on("exit", (worker, code, signal) => {
    if (stoppedOnPurpose(code, signal)) end(worker, "stopped", null);
    else end(worker, `ended (${signal ?? `exit code ${code}`})`, code || 1);
  });
  process.on("SIGINT", stopAll);
  process.on("SIGTERM", stopAll);
  stopWhenParentExits(stopAll);
  for (let index = 0; index < count; index++) {
    const worker = cluster.fork(forkedEnv(instanceId, index));
    numbers.set(worker.id, index + 1);
    // A process that could not be made (too many processes or open files) has no exit to wait for.
    worker.on("error", (error) => {
      if (worker.process.pid === undefined) end(worker, `could not start (${error.message})`, 1);
      else console.error(`${named(worker)}: ${error.message}`);
    });
  }
}

/**
 * In a forked process: `stop` once the first process is gone (killed outright, so it could not stop
 * this one). Node's own handler would end the process at once, cutting requests and attempts in
 * flight; marking the disconnect as expected keeps it from doing so, and `stop` ends the process.
 */
export function stopWhenFirstProcessExits(stop: () => void): void {
  process.prependOnceListener("disconnect", () => {
    if (cluster.worker) cluster.worker.exitedAfterDisconnect = true;
    stop();
  });
}
