import { jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runLoad } from "../bench/chaos/load.ts";
import { type Recorder, startRecorder } from "../bench/chaos/recorder.ts";
import { drain, tally } from "../bench/chaos/run.ts";
import { createLayout } from "../src/nats/layout.ts";
import { type DeployCluster, startDeployCluster } from "./support/deploy-cluster.ts";
import { adminToken, api, eventually, spawnTestHookd } from "./support/hookd.ts";
import type { HookdProcess } from "./support/processes.ts";

/**
 * docs/deploy.md on deploy/nats's three-node cluster, started from those very files: two hookd
 * instances with HOOKD_REPLICAS=3, one of them API-only (HOOKD_WORKERS=off), as the guide's load
 * balancer section runs them. The API-only instance's dispatches are delivered by the other, both
 * answer /healthz, and a rolling restart of both under a small bounded load loses nothing accepted.
 */

const layout = createLayout();
/** The two instances: slot 0 delivers, slot 1 only takes requests (HOOKD_WORKERS=off). */
const SLOT_ENV: Record<string, string>[] = [{}, { HOOKD_WORKERS: "off" }];

let cluster: DeployCluster;
let nc: NatsConnection;
let recorder: Recorder;
const slots: (HookdProcess | undefined)[] = [undefined, undefined];
const crashes: string[] = [];

async function startSlot(slot: number): Promise<void> {
  const instance = await spawnTestHookd({
    NATS_URL: cluster.urls,
    HOOKD_REPLICAS: "3",
    HOOKD_INSTANCE_ID: `deploy-${slot}`,
    ...SLOT_ENV[slot],
  });
  instance.child.once("exit", (code, signal) => {
    if (slots[slot] === instance) {
      crashes.push(`slot ${slot} exited (${code ?? signal}): ${instance.output().slice(-1_000)}`);
    }
  });
  slots[slot] = instance;
}

/** SIGTERM, as systemctl stop sends it, then a new process in the slot: one instance's upgrade. */
async function restartSlot(slot: number): Promise<void> {
  const instance = slots[slot]!;
  slots[slot] = undefined;
  await instance.stop(30_000);
  await startSlot(slot);
}

const url = (slot: number) => slots[slot]!.url;

beforeAll(async () => {
  cluster = await startDeployCluster();
  nc = await connect({ servers: cluster.urls.split(","), maxReconnectAttempts: -1 });
  recorder = await startRecorder();
  // One after the other: the first makes the streams.
  await startSlot(0);
  await startSlot(1);
}, 120_000);

afterAll(async () => {
  const running = slots.splice(0);
  await Promise.all(running.map((instance) => instance?.stop()));
  await nc?.close();
  await recorder?.stop();
  await cluster?.stop();
});

describe("hookd on deploy/nats's three-node cluster", () => {
  it("keeps every stream on three replicas with a leader", async () => {
    const jsm = await jetstreamManager(nc);
    for (const name of Object.values(layout.streams)) {
      const info = await jsm.streams.info(name);
      expect(info.config.num_replicas, name).toBe(3);
      expect(info.cluster?.leader, name).toBeTruthy();
      expect(info.cluster?.replicas ?? [], name).toHaveLength(2);
    }
  });

  it("delivers what the API-only instance accepts, and both instances answer /healthz", async () => {
    const response = await api(url(1), `/dispatch?_url=${encodeURIComponent(`${recorder.url}/api-only`)}`, {
      method: "POST",
      body: "through the API-only instance",
    });
    expect(response.status).toBe(202);
    const { id } = (await response.json()) as { id: string };
    await eventually(async () => recorder.seen.has(id), 30_000, `delivery ${id}`);
    const delivered = (await (await api(url(1), `/api/v1/deliveries/${id}`)).json()) as { state: string };
    expect(delivered.state).toBe("delivered");
    for (const slot of [0, 1]) {
      const health = await fetch(`${url(slot)}/healthz`);
      expect(health.status, `slot ${slot}`).toBe(200);
      expect(((await health.json()) as { streams: string }).streams).toBe("led");
    }
  });

  it("loses nothing accepted while both instances are restarted one after the other under load", async () => {
    let done = false;
    const restarts = (async () => {
      await sleep(1_000);
      for (const slot of [0, 1]) {
        await restartSlot(slot);
        await sleep(1_000);
      }
    })().finally(() => (done = true));
    const target = { urls: () => slots.map((slot) => slot?.url), receiverUrl: recorder.url, token: await adminToken() };
    const [load] = await Promise.all([runLoad(target, 2, () => done), restarts]);
    await drain(load.accepted, recorder.seen, 90_000);
    const figures = tally(load.accepted, recorder.seen);
    console.log(
      `rolling restart: ${load.accepted.size} accepted, ${figures.delivered} delivered, ${figures.lost} lost, ` +
        `${load.noAnswer} refused connections, ${load.unavailable} 503s, longest gap without a 202 ${load.longestGapMs} ms`,
    );
    expect(load.accepted.size).toBeGreaterThan(0);
    expect(figures.lost, "accepted dispatches never delivered").toBe(0);
    expect(load.serverErrors, load.samples.join(" | ")).toBe(0);
    expect([...load.other], load.samples.join(" | ")).toEqual([]);
    expect(crashes).toEqual([]);
  }, 180_000);
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
