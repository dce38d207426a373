import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { connect } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../src/log.ts";
import { DeliveryAskAnswers } from "../src/nats/delivery-asks.ts";
import { createLayout } from "../src/nats/layout.ts";
import { backupPermissions, natsPermissions, permissionsBlock } from "../src/nats/permissions.ts";
import { capturedLog } from "./support/captured-log.ts";
import { runBasicOperations } from "./support/basic-operations.ts";
import { QuickWindows } from "../src/runtime/quick-windows.ts";
import { api, eventually, startTestHookd, TEST_KEY, type TestHookd } from "./support/hookd.ts";
import { type NatsProcess, startNats } from "./support/processes.ts";
import { type Receiver, startReceiver } from "./support/receiver.ts";

/**
 * Least privilege: hookd runs its basic operations as a NATS user granted exactly what `hookd
 * nats-permissions` prints, and a user missing one of those permissions gets a clear error, not a hang.
 */

const granted = natsPermissions();
/** The one permission the narrow user lacks: reading one of its streams, which hookd does at every start. */
const WITHHELD = "$JS.API.STREAM.INFO.HOOKD_RATES";

/** What the third user lacks: publishing to the topic log, which hookd does only when asked to publish. */
const TOPIC_SUBJECTS = "hookd.topic.>";

/** hookd backup's and restore's own user, granted exactly what `hookd nats-permissions --backup` prints. */
const BACKUP_USER = `{ user: backup, password: backup-pw,\n${permissionsBlock(backupPermissions(), "    ")} }`;
const run = promisify(execFile);
const cli = (action: string, dir: string, url: string) =>
  run(process.execPath, ["bin/hookd.mjs", action, dir], {
    env: { ...process.env, HOOKD_KEY: TEST_KEY, NATS_URL: url },
  });

const user = (name: string, publish: string[]) =>
  `{ user: ${name}, password: ${name}-pw,\n${permissionsBlock({ publish, subscribe: granted.subscribe }, "    ")} }`;

describe("hookd as a NATS user with exactly the permissions it documents", () => {
  let nats: NatsProcess;
  let receiver: Receiver;
  let hookd: TestHookd | undefined;
  beforeAll(async () => {
    nats = await startNats({
      extraConfig: `authorization { users: [\n${user("hookd", granted.publish)}\n${
        user("narrow", granted.publish.filter((subject) => subject !== WITHHELD))
      }\n${user("nopub", granted.publish.filter((subject) => subject !== TOPIC_SUBJECTS))}\n${BACKUP_USER}\n] }`,
    });
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await hookd?.stop();
    await receiver?.stop();
    await nats?.stop();
  });

  it("dispatches, delivers, publishes, fans out and streams", async () => {
    hookd = await startTestHookd(nats.url.replace("nats://", "nats://hookd:hookd-pw@"));
    await runBasicOperations(hookd.url, receiver);
    // The delivery list caught up: the indexer read the journal and wrote the index under these permissions too.
    await eventually(async () => {
      const counts = await (await api(hookd!.url, "/api/v1/deliveries/counts")).json();
      return counts.total > 0 && counts.index_lag === 0 || undefined;
    });
    const log = await readFile(join(nats.dir, "nats-server.log"), "utf8");
    expect(log).not.toMatch(/Violation/i);
  });

  it("answers an ask for a delivery on the wire from one instance to another (/verify, record 31)", async () => {
    const asHookd = { servers: nats.url, user: "hookd", pass: "hookd-pw" };
    const [answering, asking] = [await connect(asHookd), await connect(asHookd)];
    const layout = createLayout({});
    const windows = new QuickWindows();
    const answers = new DeliveryAskAnswers(answering, layout, windows, createLogger("silent"));
    try {
      await answering.flush();
      const window = windows.open("dlv_asked");
      void window.asked.then(() => window.done());
      const answer = await asking.request(layout.subjects.deliveryAsked("dlv_asked"), undefined, { timeout: 2_000 });
      expect(answer.data.length).toBe(0);
      expect(windows.size).toBe(0);
      expect(await readFile(join(nats.dir, "nats-server.log"), "utf8")).not.toMatch(/Violation/i);
    } finally {
      answers.stop();
      await Promise.all([answering.close(), asking.close()]);
    }
  });

  it(
    "backs up as the --backup user, and restores as it onto another server; hookd's own user is told to use it",
    async () => {
      const dir = await mkdtemp(join(tmpdir(), "hookd-perm-backup-"));
      const target = await startNats({ extraConfig: `authorization { users: [\n${BACKUP_USER}\n] }` });
      try {
        const asHookd = cli("backup", join(dir, "refused"), nats.url.replace("nats://", "nats://hookd:hookd-pw@"));
        await expect(asHookd).rejects.toMatchObject({
          stderr: expect.stringMatching(/^hookd backup: NATS refused this user: .*hookd nats-permissions --backup/),
        });
        const backedUp = await cli("backup", join(dir, "b"), nats.url.replace("nats://", "nats://backup:backup-pw@"));
        expect(backedUp.stdout).toMatch(/^HOOKD_JOURNAL: \d+ messages/m);
        const restored = await cli(
          "restore",
          join(dir, "b"),
          target.url.replace("nats://", "nats://backup:backup-pw@"),
        );
        expect(restored.stdout).toMatch(/^HOOKD_JOURNAL: restored/m);
        expect(await readFile(join(target.dir, "nats-server.log"), "utf8")).not.toMatch(/Violation/i);
      } finally {
        await target.stop();
        await rm(dir, { recursive: true, force: true });
      }
    },
    60_000,
  );

  it("refuses to start, naming the permission, for a user missing one", async () => {
    const started = startTestHookd(nats.url.replace("nats://", "nats://narrow:narrow-pw@"));
    await expect(started).rejects.toThrow(
      /not let hookd.s user publish to "\$JS\.API\.STREAM\.INFO\.HOOKD_RATES".*hookd nats-permissions/,
    );
  });

  it("answers a publish NATS refuses with 503, and logs the subject to grant", async () => {
    // The streams exist (the first test made them), so this user starts; only publishing is refused.
    const { log, lines } = capturedLog("info");
    const limited = await startTestHookd(nats.url.replace("nats://", "nats://nopub:nopub-pw@"), {}, log);
    try {
      const published = await api(limited.url, "/pub/ops/refused", { method: "POST", body: "x" });
      expect(published.status).toBe(503);
      const refusals = lines.map((line) => JSON.parse(line)).filter((entry) =>
        entry.subject === "hookd.topic.s.ops.refused"
      );
      expect(refusals).toEqual([expect.objectContaining({ level: 50, operation: "publish" })]);
      expect(refusals[0].msg).toContain("hookd nats-permissions");
    } finally {
      await limited.stop();
    }
  });
});

describe("the permissions for a JetStream domain", () => {
  let store: string | undefined;
  let nats: NatsProcess;
  let receiver: Receiver;
  let hookd: TestHookd | undefined;
  beforeAll(async () => {
    const inDomain = natsPermissions({ domain: "hub" });
    store = await mkdtemp(join(tmpdir(), "hookd-nats-domain-"));
    nats = await startNats({
      // A second jetstream block replaces the harness's: its own store, in the domain "hub".
      extraConfig: `jetstream { store_dir: "${store}", domain: hub }\n` +
        `authorization { users: [\n{ user: hookd, password: hookd-pw,\n${permissionsBlock(inDomain, "    ")} }\n] }`,
    });
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await hookd?.stop();
    await receiver?.stop();
    await nats?.stop();
    if (store) await rm(store, { recursive: true, force: true });
  });

  it("are enough for the basic operations through $JS.hub.API", async () => {
    hookd = await startTestHookd(nats.url.replace("nats://", "nats://hookd:hookd-pw@"), { HOOKD_JS_DOMAIN: "hub" });
    await runBasicOperations(hookd.url, receiver);
    const log = await readFile(join(nats.dir, "nats-server.log"), "utf8");
    expect(log).not.toMatch(/Violation/i);
  });
});

describe("the permissions for another namespace", () => {
  const staging = natsPermissions({ namespace: "staging" });
  let nats: NatsProcess;
  let receiver: Receiver;
  let hookd: TestHookd | undefined;
  beforeAll(async () => {
    nats = await startNats({
      extraConfig: `authorization { users: [\n{ user: staging, password: staging-pw,\n${
        permissionsBlock(staging, "    ")
      } }\n] }`,
    });
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await hookd?.stop();
    await receiver?.stop();
    await nats?.stop();
  });

  it("are enough for the basic operations with HOOKD_NAMESPACE=staging", async () => {
    hookd = await startTestHookd(nats.url.replace("nats://", "nats://staging:staging-pw@"), {
      HOOKD_NAMESPACE: "staging",
    });
    await runBasicOperations(hookd.url, receiver);
    const log = await readFile(join(nats.dir, "nats-server.log"), "utf8");
    expect(log).not.toMatch(/Violation/i);
  });

  it("grant nothing of the default namespace: hookd without HOOKD_NAMESPACE is refused, naming the permission", async () => {
    const started = startTestHookd(nats.url.replace("nats://", "nats://staging:staging-pw@"));
    await expect(started).rejects.toThrow(/not let hookd.s user publish to "\$JS\.API\.STREAM\.[A-Z]+\.HOOKD_/);
  });
});
