import { createConnection } from "node:net";
import { type Child, spawnReady } from "../../test/support/processes.ts";
import { steadyDrainCost } from "../support/nats-traffic.ts";
import { cpuMsOf, pidNamed, receiverStats, untilArrived } from "../support/processes.ts";
import { deleteFloorStreams } from "./floor-work.ts";

/**
 * Runs hookd's two neighbours in their own processes against the bench's receiver and times their
 * drains the way hookd's is timed: first to last arrival at the receiver, and what each job cost in
 * CPU (the worker, its server, the receiver) from 10% to 90% arrived, as hookd's is. The BullMQ peer
 * (bench/dispatch/bullmq-peer.ts) is skipped, with the reason, when Redis does not answer at
 * 127.0.0.1:6379; the JetStream floor (bench/dispatch/jetstream-floor-worker.ts) uses the bench's
 * own nats-server.
 */

export const REDIS = { host: "127.0.0.1", port: 6379 };

function redisReachable(): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection(REDIS);
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

type DrainResult = { perSecond: number; cpuMs: Record<string, number> } | { skipped: string };

/**
 * Runs one peer script to its "ready", then times its drain of `jobs` at the receiver: first to last
 * arrival, and CPU per job from 10% to 90% arrived of the peer, its server (`serverPid`, NaN when
 * unknown) and the receiver.
 */
async function childDrain(options: {
  script: string;
  names: { peer: string; server: string };
  serverPid: number | null;
  env: Record<string, string>;
  receiver: Child & { url: string };
  jobs: number;
  /**
   * Removes what the peer leaves behind should it die before cleaning up after itself, even
   * before it was ready; a failure here does not replace the drain's result.
   */
  afterStop?: () => Promise<void>;
}): Promise<DrainResult> {
  try {
    return await timedDrain(options);
  } finally {
    await options.afterStop?.().catch(() => {});
  }
}

async function timedDrain(options: Parameters<typeof childDrain>[0]): Promise<DrainResult> {
  const { receiver, jobs, names } = options;
  await fetch(`${receiver.url}/__reset`, { method: "POST" });
  const peer = await spawnReady({
    what: options.script,
    command: [process.execPath, "--import", "tsx", options.script],
    env: { ...options.env, JOBS: String(jobs) },
    stderr: "inherit",
    ready: (line) => (line === "ready" ? true : undefined),
    startTimeoutMs: 120_000,
  });
  try {
    const cost = await steadyDrainCost(jobs, async () => ({
      delivered: (await receiverStats(receiver.url)).count,
      cpuMs: {
        [names.peer]: await cpuMsOf(peer.child.pid!),
        // NaN (left out of the sum) when the server runs where /proc does not show it.
        [names.server]: options.serverPid === null ? NaN : await cpuMsOf(options.serverPid),
        receiver: await cpuMsOf(receiver.child.pid!),
      },
    }));
    const stats = await untilArrived(receiver.url, jobs);
    if (stats.count < jobs || stats.first === null || stats.last === null) {
      return { skipped: `${names.peer} delivered ${stats.count} of ${jobs} within 10 minutes` };
    }
    return { perSecond: jobs / ((stats.last - stats.first) / 1000), cpuMs: cost.cpuMs };
  } finally {
    await peer.stop();
  }
}

export async function bullmqDrain(
  receiver: Child & { url: string },
  jobs: number,
  concurrency: number,
): Promise<DrainResult> {
  if (!(await redisReachable())) return { skipped: "Redis does not answer at 127.0.0.1:6379" };
  return childDrain({
    script: "bench/dispatch/bullmq-peer.ts",
    names: { peer: "BullMQ worker", server: "redis-server" },
    serverPid: await pidNamed("redis-server"),
    env: { CONCURRENCY: String(concurrency), TARGET: `${receiver.url}/peer` },
    receiver,
    jobs,
  });
}

let floorRuns = 0;

/** The floor under hookd's drain: bench/dispatch/jetstream-floor-worker.ts on the bench's own nats-server. */
export function jetstreamFloorDrain(
  receiver: Child & { url: string },
  nats: { url: string; pid: number },
  jobs: number,
  concurrency: number,
): Promise<DrainResult> {
  const stream = `BENCH_FLOOR_${process.pid}_${++floorRuns}`;
  return childDrain({
    script: "bench/dispatch/jetstream-floor-worker.ts",
    names: { peer: "floor worker", server: "nats-server" },
    serverPid: nats.pid,
    env: { NATS_URL: nats.url, STREAM: stream, CONCURRENCY: String(concurrency), TARGET: `${receiver.url}/floor` },
    receiver,
    jobs,
    afterStop: () => deleteFloorStreams(nats.url, [stream]),
  });
}
