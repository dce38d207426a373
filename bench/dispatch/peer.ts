import { createConnection } from "node:net";
import { type Child, spawnReady } from "../../test/support/processes.ts";
import { sleep } from "../support/figures.ts";
import { steadyDrainCost } from "../support/nats-traffic.ts";
import { cpuMsOf, pidNamed, receiverStats } from "../support/processes.ts";

/**
 * Runs the BullMQ peer (bench/dispatch/bullmq-peer.ts) in its own process against the bench's
 * receiver and times its drain the way hookd's is timed: first to last arrival at the receiver, and
 * what each job cost in CPU (the worker, redis-server, the receiver) from 10% to 90% arrived, as
 * hookd's is. Skipped, with the reason, when Redis does not answer at 127.0.0.1:6379.
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

export async function bullmqDrain(
  receiver: Child & { url: string },
  jobs: number,
  concurrency: number,
): Promise<{ perSecond: number; cpuMs: Record<string, number> } | { skipped: string }> {
  if (!(await redisReachable())) return { skipped: "Redis does not answer at 127.0.0.1:6379" };
  const receiverUrl = receiver.url;
  const redisPid = await pidNamed("redis-server");
  await fetch(`${receiverUrl}/__reset`, { method: "POST" });
  const peer = await spawnReady({
    what: "bench/dispatch/bullmq-peer.ts",
    command: [process.execPath, "--import", "tsx", "bench/dispatch/bullmq-peer.ts"],
    env: { JOBS: String(jobs), CONCURRENCY: String(concurrency), TARGET: `${receiverUrl}/peer` },
    stderr: "inherit",
    ready: (line) => (line === "ready" ? true : undefined),
    startTimeoutMs: 120_000,
  });
  try {
    const cost = await steadyDrainCost(jobs, async () => ({
      delivered: (await receiverStats(receiverUrl)).count,
      cpuMs: {
        "BullMQ worker": await cpuMsOf(peer.child.pid!),
        // NaN (left out of the sum) when redis-server runs where /proc does not show it.
        "redis-server": redisPid === null ? NaN : await cpuMsOf(redisPid),
        receiver: await cpuMsOf(receiver.child.pid!),
      },
    }));
    let stats = await receiverStats(receiverUrl);
    for (const deadline = Date.now() + 600_000; stats.count < jobs && Date.now() < deadline; await sleep(100)) {
      stats = await receiverStats(receiverUrl);
    }
    if (stats.count < jobs || stats.first === null || stats.last === null) {
      return { skipped: `BullMQ delivered ${stats.count} of ${jobs} within 10 minutes` };
    }
    return { perSecond: jobs / ((stats.last - stats.first) / 1000), cpuMs: cost.cpuMs };
  } finally {
    await peer.stop();
  }
}
