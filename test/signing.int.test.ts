import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeSecret } from "../src/domain/sign-standard-webhooks.ts";
import { JetStreamPublisher } from "../src/nats/jetstream-publisher.ts";
import { Journal } from "../src/nats/journal.ts";
import { createLayout } from "../src/nats/layout.ts";
import { agreeOnSetting } from "../src/nats/shared-setting.ts";
import { api, deliveryOf, startTestHookd, type TestHookd, waitForState } from "./support/hookd.ts";
import { startNats } from "./support/processes.ts";
import type { Received } from "./support/receiver.ts";
import { hookdSuite } from "./support/suite.ts";

/**
 * Signed by default: with no signing setting, every instance on one NATS signs /dispatch and
 * POST /api/v1/deliveries deliveries with one secret it made (stored in NATS, mirrored into each data
 * folder), HOOKD_SIGNING_SECRET=whsec_… wins, and HOOKD_SIGNING_SECRET=off sends them unsigned.
 */

const suite = hookdSuite({ hookd: "none", connect: true });
const started: TestHookd[] = [];
const dirs: string[] = [];

async function dataDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "hookd-signing-"));
  dirs.push(dir);
  return dir;
}

async function start(env: Record<string, string>, natsUrl = suite.nats.url): Promise<TestHookd> {
  const hookd = await startTestHookd(natsUrl, env);
  started.push(hookd);
  return hookd;
}

afterAll(async () => {
  for (const hookd of started) await hookd.stop();
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

/** Dispatches `body` through `hookd` to the suite's receiver; answers the delivery id and the request it got. */
async function dispatch(hookd: TestHookd, body: string): Promise<{ id: string; received: Received }> {
  const before = suite.receiver.requests.length;
  const target = `${suite.receiver.url}/signed`;
  const response = await api(hookd.url, `/dispatch?_url=${encodeURIComponent(target)}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
  });
  expect(response.status).toBe(202);
  const { id } = (await response.json()) as { id: string };
  // One dispatch at a time: the next request the receiver gets is this one.
  const received = (await suite.receiver.waitFor(before + 1))[before]!;
  return { id, received };
}

const verify = (secret: string, received: Received) =>
  new Webhook(secret).verify(received.body.toString(), received.headers as Record<string, string>);

describe("signing by default", () => {
  let first: TestHookd;
  let firstDir: string;
  let secret: string;

  beforeAll(async () => {
    firstDir = await dataDir();
    first = await start({ HOOKD_DATA_DIR: firstDir });
    secret = first.hookd.generatedSigningSecret!;
  });

  it("signs a dispatch with no signing setting, verifiably, with the secret kept in the data folder", async () => {
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    expect((await readFile(join(firstDir, "signing.secret"), "utf8")).trim()).toBe(secret);
    expect((await stat(join(firstDir, "signing.secret"))).mode & 0o777).toBe(0o600);
    const { id, received } = await dispatch(first, '{"signed":"by default"}');
    expect(received.headers["webhook-id"]).toBe(id);
    expect(verify(secret, received)).toEqual({ signed: "by default" });
    expect((await deliveryOf(first.url, id)).signed).toBe(true);
  });

  it("signs a POST /api/v1/deliveries that brings no secret with the same one", async () => {
    const before = suite.receiver.requests.length;
    const response = await api(first.url, "/api/v1/deliveries", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ url: `${suite.receiver.url}/api`, body: { via: "api" } }),
    });
    expect(response.status).toBe(202);
    expect(verify(secret, (await suite.receiver.waitFor(before + 1))[before]!)).toEqual({ via: "api" });
  });

  it("gives every instance on the same NATS the same secret, whichever instance accepts the delivery", async () => {
    const secondDir = await dataDir();
    const second = await start({ HOOKD_DATA_DIR: secondDir });
    expect(second.hookd.generatedSigningSecret).toBe(secret);
    expect((await readFile(join(secondDir, "signing.secret"), "utf8")).trim()).toBe(secret);
    expect(verify(secret, (await dispatch(second, '{"via":"second"}')).received)).toEqual({ via: "second" });
  });

  it("keeps the shared secret over a data folder's different one, and rewrites that folder's copy", async () => {
    const dir = await dataDir();
    await writeFile(join(dir, "signing.secret"), encodeSecret(new Uint8Array(24).fill(1)) + "\n");
    const third = await start({ HOOKD_DATA_DIR: dir });
    expect(third.hookd.generatedSigningSecret).toBe(secret);
    expect((await readFile(join(dir, "signing.secret"), "utf8")).trim()).toBe(secret);
  });

  it("lets HOOKD_SIGNING_SECRET=whsec_… win over the shared secret", async () => {
    const own = encodeSecret(new Uint8Array(32).fill(4));
    const configured = await start({ HOOKD_SIGNING_SECRET: own });
    expect(configured.hookd.generatedSigningSecret).toBeNull();
    const { received } = await dispatch(configured, '{"own":true}');
    expect(verify(own, received)).toEqual({ own: true });
    expect(() => verify(secret, received)).toThrow();
  });

  it("sends no webhook-* headers with HOOKD_SIGNING_SECRET=off, and the delivery says unsigned", async () => {
    const off = await start({ HOOKD_SIGNING_SECRET: "off" });
    expect(off.hookd.generatedSigningSecret).toBeNull();
    const { id, received } = await dispatch(off, '{"signed":false}');
    expect(Object.keys(received.headers).filter((name) => name.startsWith("webhook-"))).toEqual([]);
    const view = await waitForState(off.url, id, "delivered");
    expect(view.signed).toBe(false);
    expect(view.history[0].data.signed).toBe(false);
  });

  it("offers a data folder's secret to a NATS that holds none, so receivers keep verifying", async () => {
    const nats = await startNats();
    try {
      const dir = await dataDir();
      const kept = encodeSecret(new Uint8Array(24).fill(8));
      await writeFile(join(dir, "signing.secret"), kept + "\n");
      const hookd = await start({ HOOKD_DATA_DIR: dir }, nats.url);
      expect(hookd.hookd.generatedSigningSecret).toBe(kept);
      await hookd.stop();
    } finally {
      await nats.stop();
    }
  });

  it("settles two instances that start at the same moment on one secret", async () => {
    // The settings stream exists since the first hookd started; two offers race for an empty subject.
    const layout = createLayout();
    const publisher = new JetStreamPublisher(suite.nc);
    try {
      const journal = new Journal(await jetstreamManager(suite.nc), layout.streams.settings, publisher);
      const subject = layout.subjects.setting("race");
      const offers = ["whsec_first", "whsec_second"];
      const agreed = await Promise.all(offers.map((offer) => agreeOnSetting(journal, subject, offer)));
      expect(offers).toContain(agreed[0]);
      expect(agreed[1]).toBe(agreed[0]);
    } finally {
      await publisher.close();
    }
  });
});
