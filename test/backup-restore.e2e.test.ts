import { jetstreamManager } from "@nats-io/jetstream";
import { connect, createInbox, headers } from "@nats-io/transport-node";
import { execFile } from "node:child_process";
import { cp, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLayout } from "../src/nats/layout.ts";
import { snapshotStream } from "../src/nats/stream-snapshot.ts";
import { api, startTestHookd, TEST_KEY, type TestHookd, waitForListed, waitForState } from "./support/hookd.ts";
import { type NatsProcess, startNats } from "./support/processes.ts";
import { type Receiver, startReceiver } from "./support/receiver.ts";

/**
 * `hookd backup` and `hookd restore` (docs/deploy.md#back-up-and-restore) as an operator runs them:
 * a deployment (namespace "prod") with a delivered dispatch, one waiting for a retry and a
 * subscription is backed up through JetStream snapshots while hookd is stopped; after a restore onto
 * a new, empty nats-server, hookd there shows the same deliveries and subscription, makes the
 * waiting retry and takes new work. A restore onto a server that has the streams is refused.
 */

const run = promisify(execFile);
const hookdCli = (args: string[], natsUrl: string, namespace = "prod") =>
  run(process.execPath, ["bin/hookd.mjs", ...args], {
    env: { ...process.env, HOOKD_KEY: TEST_KEY, NATS_URL: natsUrl, HOOKD_NAMESPACE: namespace },
  });
/** The streams a server has, asked directly. */
async function jetStreamStreams(url: string): Promise<string[]> {
  const nc = await connect({ servers: url });
  try {
    const names: string[] = [];
    for await (const name of (await jetstreamManager(nc)).streams.names()) names.push(name);
    return names;
  } finally {
    await nc.close();
  }
}
const json = (body: unknown) => ({
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify(body),
});

let before: NatsProcess;
let after: NatsProcess | undefined;
let receiver: Receiver;
let backupDir: string;
/** The receiver of the pending delivery fails until the restore. */
let flaky = true;
const running: TestHookd[] = [];
const hookdOn = async (nats: NatsProcess) => {
  const hookd = await startTestHookd(nats.url, {
    HOOKD_NAMESPACE: "prod",
    HOOKD_RETRY_SCHEDULE: Array(20).fill("1s").join(","),
  });
  running.push(hookd);
  return hookd;
};

beforeAll(async () => {
  before = await startNats();
  receiver = await startReceiver((request) => (request.path === "/flaky" && flaky ? { status: 500 } : { status: 200 }));
  backupDir = join(await mkdtemp(join(tmpdir(), "hookd-backup-")), "backup");
});

afterAll(async () => {
  for (const hookd of running) await hookd.stop();
  await receiver?.stop();
  await before?.stop();
  await after?.stop();
  if (backupDir) await rm(join(backupDir, ".."), { recursive: true, force: true });
});

describe("hookd backup, then hookd restore onto a new NATS", () => {
  let delivered: string;
  let subscription: string;
  let pending: string;

  it("backs up every stream of the namespace", async () => {
    const hookd = await hookdOn(before);
    const dispatched = await api(hookd.url, `/dispatch?_url=${encodeURIComponent(`${receiver.url}/ok`)}`, {
      method: "POST",
      body: "kept",
    });
    delivered = ((await dispatched.json()) as { id: string }).id;
    await waitForState(hookd.url, delivered, "delivered");
    const created = await api(hookd.url, "/api/v1/subscriptions", json({ topic: "orders", url: `${receiver.url}/s` }));
    subscription = ((await created.json()) as { id: string }).id;
    const retried = await api(hookd.url, `/dispatch?_url=${encodeURIComponent(`${receiver.url}/flaky`)}`, {
      method: "POST",
      body: "retried after the restore",
    });
    pending = ((await retried.json()) as { id: string }).id;
    await waitForState(hookd.url, pending, "backoff");
    await hookd.stop();

    const { stdout } = await hookdCli(["backup", backupDir], before.url);
    const { streams, backupOrder } = createLayout({ namespace: "prod" });
    for (const stream of backupOrder) {
      expect(stdout).toMatch(
        new RegExp(`^${stream}: ${stream === streams.rates ? "kept in memory" : "\\d+ messages"}`, "m"),
      );
    }
    // The delivery list's index is derived from the journal: hookd builds it again after a restore.
    expect(stdout).not.toContain(streams.index);
    expect(await readdir(join(backupDir, "PROD_JOURNAL"))).toEqual(["backup.json", "stream.tar.s2"]);
    // Written last: the backup is complete.
    const manifest = JSON.parse(await readFile(join(backupDir, "manifest.json"), "utf8")) as { streams: string[] };
    expect(manifest.streams).toContain(streams.journal);
    expect(manifest.streams).not.toContain(streams.rates);
    // Upstream first, so a backup taken while hookd runs loses nothing it accepted.
    const order = [...stdout.matchAll(/^(PROD_\w+):/gm)].map((match) => match[1]);
    expect(order.slice(0, 4)).toEqual([streams.topics, streams.ingest, streams.journal, streams.work]);
  }, 60_000);

  it("refuses a backup that would hold nothing (a wrong HOOKD_NAMESPACE), naming the settings", async () => {
    const empty = join(backupDir, "..", "empty");
    await expect(hookdCli(["backup", empty], before.url, "staging")).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/^hookd backup: no stream of this namespace .*HOOKD_NAMESPACE=staging/),
    });
  }, 30_000);

  it("fails, saving nothing as a backup, when NATS ends a snapshot early (408 No Flow Response)", async () => {
    // A stand-in for the snapshot API on its own prefix: a chunk, then the end message of an abort.
    const nc = await connect({ servers: before.url });
    try {
      const fake = nc.subscribe("fake.API.STREAM.SNAPSHOT.BROKEN", {
        callback: (_, request) => {
          const { deliver_subject: inbox } = request.json<{ deliver_subject: string }>();
          request.respond(JSON.stringify({ config: { name: "BROKEN" }, state: { messages: 1 } }));
          nc.publish(inbox, new Uint8Array(10), { reply: createInbox() });
          nc.publish(inbox, new Uint8Array(0), { headers: headers(408, "No Flow Response") });
        },
      });
      await nc.flush();
      const written: Uint8Array[] = [];
      const snapshot = snapshotStream(nc, "fake.API", "BROKEN", async (chunk) => void written.push(chunk));
      await expect(snapshot).rejects.toThrow(/^snapshot of BROKEN: NATS ended it early \(408 No Flow Response\)/);
      expect(written).toHaveLength(1);
      fake.unsubscribe();
    } finally {
      await nc.close();
    }
  }, 30_000);

  it("restores them on an empty server, where hookd has the same deliveries and subscriptions", async () => {
    after = await startNats();
    const { stdout } = await hookdCli(["restore", backupDir], after.url);
    expect(stdout).toMatch(/^PROD_JOURNAL: restored/m);
    const hookd = await hookdOn(after);
    const delivery = (await (await api(hookd.url, `/api/v1/deliveries/${delivered}`)).json()) as { state: string };
    expect(delivery.state).toBe("delivered");
    const listed = (await (await api(hookd.url, "/api/v1/subscriptions")).json()) as { data: { id: string }[] };
    expect(listed.data.map((entry) => entry.id)).toContain(subscription);
    // The list's index was not in the backup: hookd built it again from the restored journal.
    await waitForListed(hookd.url, "state=delivered", [delivered]);
    flaky = false;
    await waitForState(hookd.url, pending, "delivered", 60_000);
    expect(receiver.requests.filter((request) => request.path === "/flaky").at(-1)?.body.toString()).toBe(
      "retried after the restore",
    );
    // The restored consumers and streams take new work.
    const next = await api(hookd.url, `/dispatch?_url=${encodeURIComponent(`${receiver.url}/ok`)}`, {
      method: "POST",
      body: "after the restore",
    });
    await waitForState(hookd.url, ((await next.json()) as { id: string }).id, "delivered");
  }, 60_000);

  it("refuses to restore a backup that broke off (no manifest.json), before restoring anything", async () => {
    const partial = join(backupDir, "..", "partial");
    await cp(join(backupDir, "PROD_JOURNAL"), join(partial, "PROD_JOURNAL"), { recursive: true });
    const empty = await startNats();
    try {
      await expect(hookdCli(["restore", partial], empty.url)).rejects.toMatchObject({
        code: 1,
        stderr: expect.stringMatching(/^hookd restore: .*partial has no manifest.json: .*broke off/),
      });
      expect(await jetStreamStreams(empty.url)).toEqual([]);
    } finally {
      await empty.stop();
    }
  }, 30_000);

  it("refuses to restore onto a server that has the streams, naming them", async () => {
    const refused = hookdCli(["restore", backupDir], after!.url);
    await expect(refused).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/^hookd restore: (PROD_\w+, )*PROD_JOURNAL, .* already exist on this NATS/),
    });
  }, 30_000);
});
