import { startNats } from "../../test/support/processes.ts";
import { sleep } from "../support/figures.ts";
import { benchTokens } from "../support/processes.ts";
import { startFleet } from "./fleet.ts";
import { type LoadCounts, runLoad } from "./load.ts";
import { startRecorder } from "./recorder.ts";
import type { ChaosSettings } from "./settings.ts";

/**
 * A chaos run: one nats-server, two hookd instances, one receiver; load on both instances while one
 * of them is SIGKILLed and restarted every few seconds and, once, the nats-server is stopped and
 * started again. Then waits (bounded) for every accepted delivery to arrive, and counts.
 */
export type ChaosFigures = {
  load: LoadCounts;
  delivered: number;
  lost: number;
  duplicated: number;
  /** Deliveries that arrived but whose dispatch got no 202 (cut mid-answer by a kill): not losses. */
  unannounced: number;
  kills: number;
  natsRestarts: number;
  crashes: string[];
  drainMs: number;
};

export async function runChaos(settings: ChaosSettings, log: (line: string) => void = () => {}): Promise<ChaosFigures> {
  const nats = await startNats();
  const recorder = await startRecorder();
  const fleet = startFleet(nats.url);
  try {
    await fleet.revive(0);
    await fleet.revive(1);
    const token = await benchTokens.tokenFor("/");
    const stopAt = Date.now() + settings.seconds * 1000;
    // A count of disturbances, not a time, decides: on a slow machine the run is longer, never thinner.
    let disturbed = false;
    const done = () => disturbed && Date.now() >= stopAt;
    const target = { urls: fleet.urls, receiverUrl: recorder.url, token };
    const [load, chaos] = await Promise.all([
      runLoad(target, settings.workers, done),
      disturb(settings, fleet, nats, log).finally(() => (disturbed = true)),
    ]);
    log(`load stopped: ${load.accepted.size} accepted; waiting for deliveries`);
    const drainStart = Date.now();
    await drain(load.accepted, recorder.seen, settings.drainSeconds * 1000);
    return { load, ...chaos, ...tally(load.accepted, recorder.seen), drainMs: Date.now() - drainStart };
  } finally {
    await fleet.stop();
    await recorder.stop();
    await nats.stop();
  }
}

type Disturbance = { kills: number; natsRestarts: number; crashes: string[] };

/** `kills` SIGKILLs, one instance then the other, each started again; after half of them, the NATS restart. */
async function disturb(
  settings: ChaosSettings,
  fleet: ReturnType<typeof startFleet>,
  nats: Awaited<ReturnType<typeof startNats>>,
  log: (line: string) => void,
): Promise<Disturbance> {
  const result = { kills: 0, natsRestarts: 0, crashes: fleet.crashes };
  // One after another, never overlapping: an instance started while NATS is down would not start.
  for (let kill = 0; kill < settings.kills; kill++) {
    if (kill === Math.floor(settings.kills / 2)) {
      await sleep(settings.killEverySeconds * 1000);
      log("nats-server: stop, then start again");
      await nats.pause();
      await sleep(2_000);
      await nats.restart();
      result.natsRestarts++;
    }
    await sleep(settings.killEverySeconds * 1000);
    const slot = kill % 2;
    log(`SIGKILL instance ${slot}`);
    await fleet.kill(slot);
    await sleep(500);
    await fleet.revive(slot).catch((error: Error) => fleet.crashes.push(`restart failed: ${error.message}`));
    result.kills++;
  }
  return result;
}

export async function drain(accepted: Set<string>, seen: Map<string, number>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const missing = () => [...accepted].some((id) => !seen.has(id));
  while (missing() && Date.now() < deadline) await sleep(250);
}

export function tally(accepted: Set<string>, seen: Map<string, number>) {
  let delivered = 0;
  let duplicated = 0;
  for (const id of accepted) {
    const times = seen.get(id) ?? 0;
    if (times > 0) delivered++;
    if (times > 1) duplicated++;
  }
  const unannounced = [...seen.keys()].filter((id) => !accepted.has(id)).length;
  return { delivered, lost: accepted.size - delivered, duplicated, unannounced };
}
