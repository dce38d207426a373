import { jetstreamManager } from "@nats-io/jetstream";
import { connect, nkeys } from "@nats-io/transport-node";
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { capturedLog } from "./support/captured-log.ts";
import { api, eventually, startTestHookd, TEST_KEY, type TestHookd } from "./support/hookd.ts";
import { makeOperator, type OperatorSetup } from "./support/nats-jwt.ts";
import { freePort, type NatsOptions, type NatsProcess, startNats } from "./support/processes.ts";
import { makeTestCa, natsTlsConfig, type TestCa } from "./support/test-ca.ts";

/**
 * hookd connects to a NATS that requires credentials or TLS, each the way an operator configures it:
 * user:password in NATS_URL, a token, an NKey seed file, a .creds file (operator mode, JWTs made by
 * the test), TLS with the test's own CA, mutual TLS, a JetStream domain, a server list whose first
 * server is down, and a server that comes up while hookd waits. Each hookd proves it works by a
 * publish that JetStream stored. The wrong settings are hookd-as-a-process tests (nats-refusals.e2e).
 */

let dir: string;
let ca: TestCa;
let operator: OperatorSetup;
const servers: NatsProcess[] = [];
const hookds: TestHookd[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "hookd-nats-auth-"));
  ca = await makeTestCa(dir);
  operator = await makeOperator(dir);
});
afterAll(async () => {
  for (const hookd of hookds) await hookd.stop();
  for (const server of servers) await server.stop();
  await rm(dir, { recursive: true, force: true });
});

async function nats(options: NatsOptions): Promise<NatsProcess> {
  const server = await startNats(options);
  servers.push(server);
  return server;
}

/** A hookd on `url` with `env`, checked by a publish that JetStream acknowledged. */
async function connectsWith(url: string, env: Record<string, string> = {}): Promise<TestHookd> {
  const hookd = await startTestHookd(url, env);
  hookds.push(hookd);
  const published = await api(hookd.url, "/pub/auth/check", { method: "POST", body: "stored" });
  expect(published.status).toBe(202);
  return hookd;
}

const run = promisify(execFile);
const withUser = (url: string, userinfo: string) => url.replace("nats://", `nats://${userinfo}@`);

describe("credentials", () => {
  const seed = nkeys.createUser();

  it("user:password in NATS_URL, and an NKey seed file", async () => {
    const server = await nats({
      extraConfig:
        `authorization { users: [\n  { user: hookd, password: "p@ss word" }\n  { nkey: ${seed.getPublicKey()} }\n] }`,
    });
    await connectsWith(withUser(server.url, "hookd:p%40ss%20word"));
    const seedFile = join(dir, "hookd.nk");
    await writeFile(seedFile, `${new TextDecoder().decode(seed.getSeed())}\n`);
    await connectsWith(server.url, { HOOKD_NATS_NKEY: seedFile });
  });

  it("a token, in HOOKD_NATS_TOKEN or in NATS_URL", async () => {
    const server = await nats({ extraConfig: 'authorization { token: "t0ken-for-hookd" }' });
    await connectsWith(server.url, { HOOKD_NATS_TOKEN: "t0ken-for-hookd" });
    await connectsWith(withUser(server.url, "t0ken-for-hookd"));
  });

  it("a .creds file, on a server in operator mode", async () => {
    const server = await nats({ extraConfig: operator.serverConfig });
    await connectsWith(server.url, { HOOKD_NATS_CREDS: operator.credsFile });
  });
});

describe("TLS", () => {
  it("a tls:// server whose certificate the test's CA signed", async () => {
    const server = await nats({ extraConfig: natsTlsConfig(ca) });
    await connectsWith(server.url.replace("nats://", "tls://"), { HOOKD_NATS_TLS_CA: ca.ca });
  });

  it("mutual TLS: the server requires hookd's client certificate", async () => {
    const server = await nats({ extraConfig: natsTlsConfig(ca, true) });
    await connectsWith(server.url, {
      HOOKD_NATS_TLS_CA: ca.ca,
      HOOKD_NATS_TLS_CERT: ca.clientCert,
      HOOKD_NATS_TLS_KEY: ca.clientKey,
    });
  });
});

describe("servers", () => {
  it("a JetStream domain (HOOKD_JS_DOMAIN): /healthz, backup and restore ask $JS.hub.API, not $JS.API", async () => {
    // hookd on a leaf node whose own JetStream (domain "leaf") answers $JS.API, its streams on the
    // hub's (domain "hub"): a call that forgets the domain asks the wrong JetStream. A lone server
    // answers $JS.API for its own domain too, which would hide such a call.
    const leafPort = await freePort();
    await nats({
      extraConfig: `jetstream { store_dir: "${join(dir, "hub-store")}", domain: hub }\n` +
        `leafnodes { listen: "127.0.0.1:${leafPort}" }`,
    });
    const server = await nats({
      extraConfig: `jetstream { store_dir: "${join(dir, "leaf-store")}", domain: leaf }\n` +
        `leafnodes { remotes: [ { url: "nats-leaf://127.0.0.1:${leafPort}" } ] }`,
    });
    const probe = await connect({ servers: server.url });
    await eventually(
      () => jetstreamManager(probe, { domain: "hub", timeout: 1_000 }).then(() => true),
      20_000,
      "the leaf node",
    );
    await probe.close();
    const url = server.url;
    const env = { HOOKD_JS_DOMAIN: "hub", HOOKD_NAMESPACE: "hub-test" };
    const hookd = await connectsWith(url, env);
    expect((await fetch(`${hookd.url}/healthz`)).status).toBe(200);
    const folder = join(dir, "domain-backup");
    const cli = (action: string) =>
      run(process.execPath, ["bin/hookd.mjs", action, folder], {
        env: { ...process.env, HOOKD_KEY: TEST_KEY, NATS_URL: url, ...env },
      });
    expect((await cli("backup")).stdout).toMatch(/^HUB-TEST_JOURNAL: \d+ messages/m);
    // restore lists the streams through the domain too: it finds them there and refuses.
    await expect(cli("restore")).rejects.toMatchObject({ stderr: expect.stringMatching(/already exist on this NATS/) });
  }, 60_000);

  it("a server list whose first server is down", async () => {
    const server = await nats({ extraConfig: "authorization { users: [ { user: hookd, password: pw } ] }" });
    const down = `nats://hookd:pw@127.0.0.1:${await freePort()}`;
    const hookd = await connectsWith(`${down},${withUser(server.url, "hookd:pw")}`);
    // What hookd logs and reports: the servers without the password.
    expect(hookd.hookd.natsUrl).toBe(`${down.replace("hookd:pw@", "")},${server.url}`);
  });

  it("waits, saying so once, for a server that comes up after hookd started", async () => {
    const port = await freePort();
    const { log, lines } = capturedLog("info");
    const starting = startTestHookd(`nats://127.0.0.1:${port}`, { HOOKD_NATS_CONNECT_TIMEOUT: "60s" }, log);
    // The server starts only once hookd has said it waits, so the wait is certain to have happened.
    const deadline = Date.now() + 20_000;
    while (!lines.some((line) => line.includes("waiting for NATS")) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await nats({ port });
    const hookd = await starting;
    hookds.push(hookd);
    const waiting = lines.filter((line) => line.includes("waiting for NATS"));
    expect(waiting).toHaveLength(1);
    expect(JSON.parse(waiting[0]!)).toMatchObject({ level: 40, nats: `nats://127.0.0.1:${port}`, timeout_ms: 60_000 });
    expect((await api(hookd.url, "/pub/auth/late", { method: "POST", body: "x" })).status).toBe(202);
  });
});
