import { type JetStreamManager, jetstreamManager, type StreamInfo } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config.ts";
import { createLogger } from "../src/log.ts";
import { createLayout } from "../src/nats/layout.ts";
import { startHookd } from "../src/server.ts";
import { api, eventually, startTestHookd, TEST_KEY } from "./support/hookd.ts";
import { type NatsCluster, startNatsCluster } from "./support/nats-cluster.ts";
import { startNats } from "./support/processes.ts";
import { type Receiver, startReceiver } from "./support/receiver.ts";

/**
 * HOOKD_REPLICAS on a real three-node JetStream cluster (test/support/nats-cluster.ts), read back
 * through the JetStream API as an operator would: every stream and shared consumer with three
 * peers and one leader; a start with more replicas scales existing streams up, one with fewer is
 * refused unless HOOKD_REPLICAS_SHRINK=1; more replicas than servers is refused naming the
 * variable. With two of three nodes gone no stream has a leader: /healthz says so and ingest
 * answers 503 with Retry-After, until the nodes are back.
 */

const layout = createLayout();
const streamNames = Object.values(layout.streams);
const consumers: [string, string][] = [
  [layout.streams.ingest, layout.consumers.expander],
  [layout.streams.topics, layout.consumers.fanOut],
  [layout.streams.work, layout.consumers.workers],
];
/** A config-file router's consumer (HOOKD_CONFIG below), scaled up with the others by an instance that has it. */
const router: [string, string] = [layout.streams.topics, layout.consumers.router("deploys")];

/** Peers of a stream or consumer: its leader and its replicas. */
const peers = (cluster: StreamInfo["cluster"]) =>
  [cluster?.leader, ...(cluster?.replicas ?? []).map((replica) => replica.name)].filter(Boolean).sort();

async function replicaCounts(jsm: JetStreamManager): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const name of streamNames) counts[name] = (await jsm.streams.info(name)).config.num_replicas;
  return counts;
}

/** hookd's start in this process, for the starts that must fail: what it throws is what the operator reads. */
async function startOnce(natsUrl: string, env: Record<string, string>) {
  const dataDir = await mkdtemp(join(tmpdir(), "hookd-data-"));
  try {
    const config = loadConfig({
      HOOKD_KEY: TEST_KEY,
      HOOKD_DATA_DIR: dataDir,
      HOOKD_LOG_LEVEL: "silent",
      NATS_URL: natsUrl,
      ...env,
    });
    const hookd = await startHookd(config, createLogger("silent"));
    await hookd.stop();
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

describe("HOOKD_REPLICAS on a three-node cluster", () => {
  let cluster: NatsCluster;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  let receiver: Receiver;
  let configDir: string;
  /** A static router, so its durable consumer is made and then scaled with the others. */
  let withRouter: Record<string, string>;
  beforeAll(async () => {
    configDir = await mkdtemp(join(tmpdir(), "hookd-replicas-config-"));
    withRouter = { HOOKD_CONFIG: join(configDir, "hookd.yaml") };
    await writeFile(withRouter.HOOKD_CONFIG!, "routers:\n  - {name: deploys, type: github, from: hooks/}\n");
    cluster = await startNatsCluster();
    nc = await connect({ servers: cluster.nodes[0]!.url });
    jsm = await jetstreamManager(nc);
    receiver = await startReceiver();
  }, 60_000);
  afterAll(async () => {
    await nc?.close();
    await receiver?.stop();
    await cluster?.stop();
    if (configDir) await rm(configDir, { recursive: true, force: true });
  });

  it("starts with one replica, scales every stream and consumer up to three, and refuses to shrink", async () => {
    await startOnce(cluster.nodes[0]!.url, withRouter);
    expect(Object.values(await replicaCounts(jsm))).toEqual(streamNames.map(() => 1));
    expect((await jsm.consumers.info(layout.streams.topics, layout.consumers.router("deploys"))).config.num_replicas)
      .toBe(1);

    const hookd = await startTestHookd(cluster.nodes[1]!.url, { HOOKD_REPLICAS: "3", ...withRouter });
    try {
      expect(await replicaCounts(jsm)).toEqual(Object.fromEntries(streamNames.map((name) => [name, 3])));
      // Three peers and one leader each, once JetStream has placed them (the rate stream, in memory, too).
      await eventually(
        async () => {
          for (const name of streamNames) {
            const info = await jsm.streams.info(name);
            if (peers(info.cluster).join() !== "n1,n2,n3" || !info.cluster?.leader) return false;
          }
          for (const [stream, name] of [...consumers, router]) {
            const info = await jsm.consumers.info(stream, name);
            if (info.config.num_replicas !== 3 || peers(info.cluster).join() !== "n1,n2,n3") return false;
          }
          return true;
        },
        30_000,
        "every stream and consumer on n1, n2 and n3 with a leader",
      );
      const health = await fetch(`${hookd.url}/healthz`);
      expect([health.status, await health.json()]).toEqual([
        200,
        { status: "ok", nats: "connected", streams: "led", leaderless_streams: [] },
      ]);
      // Still a working hookd on the scaled streams.
      const response = await api(hookd.url, `/dispatch?_url=${encodeURIComponent(`${receiver.url}/r3`)}`, {
        method: "POST",
        body: "replicated",
      });
      expect(response.status).toBe(202);
      expect((await receiver.waitFor(1))[0]!.body.toString()).toBe("replicated");
    } finally {
      await hookd.stop();
    }

    await expect(startOnce(cluster.nodes[2]!.url, { HOOKD_REPLICAS: "1" })).rejects.toThrow(
      /^hookd's stream HOOKD_\w+ has 3 replicas and HOOKD_REPLICAS is 1: .*HOOKD_REPLICAS_SHRINK=1/,
    );
    expect(Object.values(await replicaCounts(jsm))).toEqual(streamNames.map(() => 3));
  }, 120_000);

  it("refuses more replicas than the cluster has servers, naming HOOKD_REPLICAS", async () => {
    await expect(startOnce(cluster.nodes[0]!.url, { HOOKD_REPLICAS: "5", HOOKD_NAMESPACE: "five" })).rejects.toThrow(
      /^JetStream refused stream FIVE_JOURNAL with 5 replicas \(.*\): HOOKD_REPLICAS=5 is more than/,
    );
  }, 60_000);

  it("shrinks with HOOKD_REPLICAS_SHRINK=1", async () => {
    await startOnce(cluster.nodes[0]!.url, { HOOKD_REPLICAS: "1", HOOKD_REPLICAS_SHRINK: "1" });
    expect(Object.values(await replicaCounts(jsm))).toEqual(streamNames.map(() => 1));
    for (const [stream, name] of consumers) {
      expect((await jsm.consumers.info(stream, name)).config.num_replicas).toBe(1);
    }
  }, 60_000);

  it(
    "with two nodes of three down, /healthz names the leaderless streams and ingest answers 503, until they are back",
    async () => {
      await startOnce(cluster.nodes[0]!.url, { HOOKD_REPLICAS: "3" });
      const hookd = await startTestHookd(cluster.nodes[0]!.url, { HOOKD_REPLICAS: "3" });
      const dispatch = () =>
        api(hookd.url, `/dispatch?_url=${encodeURIComponent(`${receiver.url}/quorum`)}`, {
          method: "POST",
          body: "after quorum",
        });
      try {
        await cluster.kill("n2");
        await cluster.kill("n3");
        // No quorum: no stream can elect a leader, nothing can be stored.
        const health = await eventually(
          async () => {
            const response = await fetch(`${hookd.url}/healthz`);
            return response.status === 503 ? await response.json() : undefined;
          },
          60_000,
          "/healthz to answer 503",
        );
        expect(health).toMatchObject({ status: "degraded", nats: "connected", streams: "leaderless" });
        expect(health.leaderless_streams.length).toBeGreaterThan(0);
        const refused = await dispatch();
        expect(refused.status).toBe(503);
        expect(refused.headers.get("retry-after")).toMatch(/^\d+$/);

        await cluster.restart("n2");
        await cluster.restart("n3");
        await eventually(async () => (await fetch(`${hookd.url}/healthz`)).status === 200, 60_000, "/healthz 200");
        const accepted = await eventually(
          async () => {
            const response = await dispatch();
            return response.status === 202 ? response : undefined;
          },
          30_000,
          "a 202",
        );
        expect(accepted.status).toBe(202);
        // That very dispatch arrives (an earlier one's late retry may arrive before it).
        const { id } = (await accepted.json()) as { id: string };
        await eventually(
          async () => receiver.requests.some((request) => request.headers["webhook-id"] === id) || undefined,
          30_000,
          "the dispatch accepted after quorum to arrive",
        );
      } finally {
        await hookd.stop();
      }
    },
    180_000,
  );
});

describe("HOOKD_REPLICAS above one on a single server", () => {
  it("is refused, naming HOOKD_REPLICAS, whether the streams are new or already there", async () => {
    const nats = await startNats();
    try {
      const notClustered = /^HOOKD_REPLICAS is 3 but the NATS server is not part of a JetStream cluster/;
      await expect(startOnce(nats.url, { HOOKD_REPLICAS: "3" })).rejects.toThrow(notClustered);
      await startOnce(nats.url, {});
      await expect(startOnce(nats.url, { HOOKD_REPLICAS: "3" })).rejects.toThrow(notClustered);
    } finally {
      await nats.stop();
    }
  }, 60_000);
});
