import { createLayout } from "../../src/nats/layout.ts";
import type { Child } from "../../test/support/processes.ts";
import { sleep } from "../support/figures.ts";
import { natsTrafficOf, steadyDrainCost, streamDetailsOf } from "../support/nats-traffic.ts";
import { cpuMsOf, receiverStats, startHookd, untilArrived } from "../support/processes.ts";

export type HookdDrain = { perSecond: number; cpuMs: Record<string, number>; inMsgs: number; outMsgs: number };

/**
 * One instance started on a backlog of `jobs` dispatches already in NATS, timed as the peers are
 * (dispatch/peer.ts): first to last arrival at the receiver, and what each delivery cost from 10% to
 * 90% arrived, in figures that do not depend on the machine's speed: every message nats-server took
 * in or handed out (every client, the indexer's work included), and the CPU of hookd, nats-server and
 * the receiver. Stops the instance however the drain ends.
 */
export async function hookdDrain(options: {
  nats: { url: string; pid: number };
  monitorPort: number;
  receiver: Child & { url: string };
  jobs: number;
  concurrency: number;
}): Promise<HookdDrain> {
  const { nats, receiver, jobs } = options;
  await fetch(`${receiver.url}/__reset`, { method: "POST" });
  const workers = await startHookd(nats.url, { HOOKD_CONCURRENCY: String(options.concurrency) });
  try {
    const cost = await steadyDrainCost(jobs, async () => ({
      delivered: (await receiverStats(receiver.url)).count,
      cpuMs: {
        hookd: await cpuMsOf(workers.child.pid!),
        "nats-server": await cpuMsOf(nats.pid),
        receiver: await cpuMsOf(receiver.child.pid!),
      },
      traffic: await natsTrafficOf(options.monitorPort),
    }));
    const drained = await untilArrived(receiver.url, jobs);
    // hookd gone or a delivery lost ends the bench here, as steadyDrainCost does before 90%.
    if (drained.count < jobs) throw new Error(`the drain delivered ${drained.count} of ${jobs} within 10 minutes`);
    return { perSecond: jobs / ((drained.last! - drained.first!) / 1000), ...cost };
  } finally {
    await workers.stop();
  }
}

const { streams } = createLayout();

/** Messages in the streams that hold work not yet done (accepted batches, queued deliveries), from the monitor port. */
async function queuedMessages(monitorPort: number): Promise<number> {
  return (await streamDetailsOf(monitorPort))
    .filter((detail) => detail.name === streams.ingest || detail.name === streams.work)
    .reduce((sum, detail) => sum + (detail.state?.messages ?? 0), 0);
}

/**
 * Leaves nothing queued for the next drain: a load generator's requests still open when it stopped
 * were accepted but not counted, and an instance stopped as its count came in may leave a batch
 * unacknowledged. A worker instance takes what is left, out of any timing, until both work streams
 * are empty; a bench stops by itself, so that ends within five minutes or throws.
 */
export async function settleBacklog(options: { nats: { url: string }; monitorPort: number }): Promise<void> {
  if ((await queuedMessages(options.monitorPort)) === 0) return;
  const workers = await startHookd(options.nats.url);
  try {
    for (const giveUpAt = Date.now() + 5 * 60_000; (await queuedMessages(options.monitorPort)) > 0; await sleep(200)) {
      if (Date.now() > giveUpAt) throw new Error("work left in NATS was not done within 5 minutes");
    }
  } finally {
    await workers.stop();
  }
}
