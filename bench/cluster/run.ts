import { type JetStreamManager, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { createLayout } from "../../src/nats/layout.ts";
import { type NatsCluster, startNatsCluster } from "../../test/support/nats-cluster.ts";
import { type Fleet, startFleet } from "../chaos/fleet.ts";
import { type LoadCounts, runLoad } from "../chaos/load.ts";
import { startRecorder } from "../chaos/recorder.ts";
import { drain, tally } from "../chaos/run.ts";
import { sleep } from "../support/figures.ts";
import { benchTokens } from "../support/processes.ts";

/**
 * A NATS node lost under load, on a three-node JetStream cluster with every hookd stream on three
 * replicas (HOOKD_REPLICAS=3): two hookd instances, each connected to a different node (n1, n2),
 * dispatch to one receiver while the load generator of the chaos run (bench/chaos/load.ts) posts
 * to both. "node-death" SIGKILLs the node that leads the ingest stream and starts it again;
 * "rolling-restart" stops and starts n1, n2 and n3 one after another, each once the one before has
 * caught up, as an upgrade would. Then waits (bounded) for every accepted delivery, and counts.
 * Shared by test/cluster-failover.e2e.test.ts (short) and bench/cluster.ts (the figures).
 */

export type ClusterScenario = "node-death" | "rolling-restart";

export type ClusterRunSettings = {
  workers: number;
  /** Load before the first disturbance, and between two. */
  warmSeconds: number;
  /** How long a stopped node stays down. */
  downSeconds: number;
  /** Load after the last node is back. */
  afterSeconds: number;
  drainSeconds: number;
  /** node-death: the killed node comes back with an empty store, as a machine replaced after a disk loss. */
  loseStore?: boolean;
  /** HOOKD_REPLICAS (3 unless told: 1 shows what a node loss costs without replication). */
  replicas?: number;
};

export type ClusterFigures = {
  scenario: ClusterScenario;
  load: LoadCounts;
  delivered: number;
  lost: number;
  duplicated: number;
  unannounced: number;
  crashes: string[];
  drainMs: number;
  /** What was done to which node, in order. */
  events: string[];
  /** Per node stopped: whether both hookd instances were connected to the nodes still running while it was down. */
  reconnected: boolean[];
};

const layout = createLayout();
const STREAMS = Object.values(layout.streams);
const CATCH_UP_MS = 60_000;

export async function runClusterChaos(
  scenario: ClusterScenario,
  settings: ClusterRunSettings,
  log: (line: string) => void = () => {},
): Promise<ClusterFigures> {
  const cluster = await startNatsCluster();
  const recorder = await startRecorder();
  const fleet = startFleet((slot) => cluster.nodes[slot]!.url, { HOOKD_REPLICAS: String(settings.replicas ?? 3) });
  const nc = await connect({ servers: cluster.urls.split(","), maxReconnectAttempts: -1, reconnectTimeWait: 250 });
  try {
    // One after the other: the first makes the streams.
    await fleet.revive(0);
    await fleet.revive(1);
    const jsm = await jetstreamManager(nc);
    const token = await benchTokens.tokenFor("/");
    const target = { urls: fleet.urls, receiverUrl: recorder.url, token };
    const figures = { events: [] as string[], reconnected: [] as boolean[] };
    let disturbed = false;
    const disturb = scenario === "node-death" ? killIngestLeader : rollingRestart;
    const [load] = await Promise.all([
      runLoad(target, settings.workers, () => disturbed),
      disturb({ cluster, jsm, settings, figures, log }).finally(() => (disturbed = true)),
    ]);
    log(`load stopped: ${load.accepted.size} accepted; waiting for deliveries`);
    const drainStart = Date.now();
    await drain(load.accepted, recorder.seen, settings.drainSeconds * 1000);
    return {
      scenario,
      load,
      ...tally(load.accepted, recorder.seen),
      crashes: fleet.crashes,
      drainMs: Date.now() - drainStart,
      ...figures,
    };
  } finally {
    await stopAll(fleet, nc, recorder, cluster);
  }
}

async function stopAll(
  fleet: Fleet,
  nc: { close(): Promise<void> },
  recorder: { stop(): Promise<void> },
  cluster: NatsCluster,
) {
  await fleet.stop();
  await nc.close().catch(() => undefined);
  await recorder.stop();
  await cluster.stop();
}

type Disturb = {
  cluster: NatsCluster;
  jsm: JetStreamManager;
  settings: ClusterRunSettings;
  figures: { events: string[]; reconnected: boolean[] };
  log: (line: string) => void;
};

async function killIngestLeader({ cluster, jsm, settings, figures, log }: Disturb): Promise<void> {
  await sleep(settings.warmSeconds * 1000);
  const leader = (await jsm.streams.info(layout.streams.ingest)).cluster?.leader ?? "n1";
  const journalLeader = (await jsm.streams.info(layout.streams.journal)).cluster?.leader;
  const event = `SIGKILL ${leader} (leads ${layout.streams.ingest}${
    journalLeader === leader ? ` and ${layout.streams.journal}` : ""
  })`;
  log(event);
  figures.events.push(event);
  await cluster.kill(leader);
  figures.reconnected.push(await instancesReconnected(cluster, settings.downSeconds * 1000));
  if (settings.loseStore) await cluster.wipe(leader);
  await cluster.restart(leader);
  const back = await caughtUp(jsm, settings.replicas ?? 3);
  figures.events.push(`${leader} started again${settings.loseStore ? " with an empty store" : ""}; ${back}`);
  log(figures.events.at(-1)!);
  await sleep(settings.afterSeconds * 1000);
}

async function rollingRestart({ cluster, jsm, settings, figures, log }: Disturb): Promise<void> {
  for (const node of cluster.nodes) {
    await sleep(settings.warmSeconds * 1000);
    log(`stop ${node.name} (SIGTERM)`);
    await cluster.shutdown(node.name);
    figures.reconnected.push(await instancesReconnected(cluster, settings.downSeconds * 1000));
    await cluster.restart(node.name);
    figures.events.push(`${node.name} stopped and started again; ${await caughtUp(jsm, settings.replicas ?? 3)}`);
    log(figures.events.at(-1)!);
  }
  await sleep(settings.afterSeconds * 1000);
}

/**
 * Whether, within `ms` (the node's down time, waited whole), both instances are connected to the
 * nodes still running: nats.js learns the cluster's other servers from the INFO of the one in
 * NATS_URL, and reconnects to them.
 */
async function instancesReconnected(cluster: NatsCluster, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  let both = false;
  while (Date.now() < deadline) {
    if (!both) both = (await hookdConnections(cluster)) === 2;
    await sleep(250);
  }
  return both;
}

async function hookdConnections(cluster: NatsCluster): Promise<number> {
  let count = 0;
  for (const node of cluster.nodes.filter((candidate) => candidate.running())) {
    const response = await fetch(`${node.monitorUrl}/connz`, { signal: AbortSignal.timeout(2_000) }).catch(() => null);
    const connz = (await response?.json().catch(() => null)) as { connections?: { name?: string }[] } | null;
    count += (connz?.connections ?? []).filter((connection) => connection.name?.startsWith("hookd@")).length;
  }
  return count;
}

/** Waits (bounded) until every hookd stream has a leader and its other replicas are current; says how it went. */
async function caughtUp(jsm: JetStreamManager, replicas: number): Promise<string> {
  const started = Date.now();
  while (Date.now() - started < CATCH_UP_MS) {
    const current = await Promise.all(STREAMS.map((name) =>
      jsm.streams.info(name).then(
        ({ cluster }) =>
          Boolean(cluster?.leader) && (cluster?.replicas ?? []).filter((peer) => peer.current).length === replicas - 1,
        () => false,
      )
    ));
    if (current.every(Boolean)) return `every stream caught up in ${((Date.now() - started) / 1000).toFixed(1)} s`;
    await sleep(250);
  }
  return `not every stream caught up within ${CATCH_UP_MS / 1000} s`;
}
