import cluster from "node:cluster";

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

/** True when something other than hookd runs this process as a cluster worker: it cannot fork processes of its own. */
export const isOtherLaunchersWorker = (): boolean => cluster.isWorker && !isForkedProcess();

/** A forked process's environment: marked as hookd's, and named per process when an instance id was given. */
export function forkedEnv(instanceId: string | undefined, index: number): Record<string, string> {
  return {
    [FORKED]: String(index + 1),
    ...(instanceId === undefined ? {} : { HOOKD_INSTANCE_ID: `${instanceId}-${index + 1}` }),
  };
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
  let alive = count;
  let stopping = false;
  const stopAll = () => {
    stopping = true;
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill("SIGTERM");
  };
  cluster.on("exit", (worker, code, signal) => {
    const crashed = !stoppedOnPurpose(code, signal);
    // Kept for a first process that ends on its own (its port closed) before the last exit is seen.
    if (crashed) process.exitCode = Math.max(Number(process.exitCode ?? 0), code || 1);
    if (!stopping) {
      const how = crashed ? `ended (${signal ?? `exit code ${code}`})` : "stopped";
      console.error(`hookd process ${worker.process.pid} ${how}; stopping the other processes`);
      stopAll();
    }
    // Counted here: Node drops a worker from cluster.workers only once both its exit and its disconnect are seen.
    if (--alive === 0) exit(Number(process.exitCode ?? 0));
  });
  process.on("SIGINT", stopAll);
  process.on("SIGTERM", stopAll);
  stopWhenParentExits(stopAll);
  for (let index = 0; index < count; index++) cluster.fork(forkedEnv(instanceId, index));
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
