import { jetstreamManager } from "@nats-io/jetstream";
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runLoad } from "../bench/chaos/load.ts";
import { type Recorder, startRecorder } from "../bench/chaos/recorder.ts";
import { drain, tally } from "../bench/chaos/run.ts";
import { createLayout } from "../src/nats/layout.ts";
import { type DeployCluster, startDeployCluster } from "./support/deploy-cluster.ts";
import {
  adminToken,
  api,
  eventually,
  spawnTestHookd,
  startTestHookd,
  TEST_KEY,
  waitForState,
} from "./support/hookd.ts";
import type { HookdProcess } from "./support/processes.ts";

/**
 * docs/deploy.md on deploy/nats's three-node cluster, started from those very files: two hookd
 * instances with HOOKD_REPLICAS=3, one of them API-only (HOOKD_WORKERS=off), as the guide's load
 * balancer section runs them. The API-only instance's dispatches are delivered by the other, both
 * answer /healthz, and a rolling restart of both under a small bounded load loses nothing accepted.
 * Then `hookd backup` of the running deployment, restored onto a second cluster made from the same
 * files, where hookd finds the deliveries.
 */

const layout = createLayout();
/** The two instances: slot 0 delivers, slot 1 only takes requests (HOOKD_WORKERS=off). */
const SLOT_ENV: Record<string, string>[] = [{}, { HOOKD_WORKERS: "off" }];

let cluster: DeployCluster;
let nc: NatsConnection;
let recorder: Recorder;
const slots: (HookdProcess | undefined)[] = [undefined, undefined];
const crashes: string[] = [];
/** Deliveries the backup must hold: the API-only instance's, and one accepted under the rolling restart. */
const delivered: string[] = [];

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
    // The outcome is journaled once the receiver has answered, and read here from any replica.
    await eventually(
      async () => {
        const view = (await (await api(url(1), `/api/v1/deliveries/${id}`)).json()) as { state: string };
        return view.state === "delivered" ? true : undefined;
      },
      10_000,
      `delivery ${id} journaled as delivered`,
    );
    delivered.push(id);
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
    delivered.push([...load.accepted].at(-1)!);
  }, 180_000);

  it("is backed up while hookd runs, and restored onto a second cluster where hookd finds its deliveries", async () => {
    const dir = await mkdtemp(join(tmpdir(), "hookd-deploy-backup-"));
    let second: DeployCluster | undefined;
    const cli = (args: string[], natsUrl: string) =>
      promisify(execFile)(process.execPath, ["bin/hookd.mjs", ...args], {
        env: { ...process.env, HOOKD_KEY: TEST_KEY, NATS_URL: natsUrl },
      });
    try {
      const backedUp = await cli(["backup", join(dir, "b")], cluster.urls);
      expect(backedUp.stdout).toMatch(/^HOOKD_JOURNAL: \d+ messages/m);
      second = await startDeployCluster();
      const restored = await cli(["restore", join(dir, "b")], second.urls);
      expect(restored.stdout).toMatch(/^HOOKD_JOURNAL: restored/m);
      const hookd = await startTestHookd(second.urls, { HOOKD_REPLICAS: "3" });
      try {
        for (const id of delivered) await waitForState(hookd.url, id, "delivered");
      } finally {
        await hookd.stop();
      }
    } finally {
      await second?.stop();
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
