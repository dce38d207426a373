import type { Child } from "../../test/support/processes.ts";
import { sleep } from "../support/figures.ts";
import { natsTrafficOf, steadyDrainCost } from "../support/nats-traffic.ts";
import { cpuMsOf, receiverStats, startHookd } from "../support/processes.ts";

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
    let drained = await receiverStats(receiver.url);
    // A bench stops by itself: hookd gone or a delivery lost ends it here, as steadyDrainCost does before 90%.
    for (const giveUpAt = Date.now() + 10 * 60_000; drained.count < jobs; await sleep(100)) {
      if (Date.now() > giveUpAt) throw new Error(`the drain delivered ${drained.count} of ${jobs} within 10 minutes`);
      drained = await receiverStats(receiver.url);
    }
    return { perSecond: jobs / ((drained.last! - drained.first!) / 1000), ...cost };
  } finally {
    await workers.stop();
  }
}
