import { nkeys } from "@nats-io/transport-node";
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { natsPermissions, permissionsBlock } from "../src/nats/permissions.ts";
import { TEST_KEY } from "./support/hookd.ts";
import { makeOperator, type OperatorSetup } from "./support/nats-jwt.ts";
import { freePort, type NatsOptions, type NatsProcess, startNats, stopProcess } from "./support/processes.ts";
import { makeTestCa, natsTlsConfig, type TestCa } from "./support/test-ca.ts";

/**
 * Every NATS setting that cannot work stops hookd (the process npm start runs) with its cause and the
 * variable to fix, on one line of stderr, no stack trace, and a non-zero exit; and no secret is in
 * anything it prints. Configuration errors (settings that contradict each other, unreadable files)
 * exit 2 under "hookd's configuration is invalid:", the others 1.
 */

const SECRET = "s3cret-Pa55";
let dir: string;
let ca: TestCa;
let operator: OperatorSetup;
const servers: NatsProcess[] = [];
let users: NatsProcess;
let tokenServer: NatsProcess;
let tlsServer: NatsProcess;
let mtlsServer: NatsProcess;
let operatorServer: NatsProcess;
let plainServer: NatsProcess;

async function nats(options: NatsOptions = {}): Promise<NatsProcess> {
  const server = await startNats(options);
  servers.push(server);
  return server;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "hookd-nats-refusals-"));
  ca = await makeTestCa(dir);
  operator = await makeOperator(dir);
  const narrow = natsPermissions();
  narrow.publish = narrow.publish.filter((subject) => subject !== "$JS.API.STREAM.INFO.HOOKD_WORK");
  users = await nats({
    extraConfig: `authorization { users: [\n { user: hookd, password: "${SECRET}" }\n` +
      ` { user: narrow, password: "${SECRET}",\n${permissionsBlock(narrow)} }\n] }`,
  });
  tokenServer = await nats({ extraConfig: `authorization { token: "${SECRET}" }` });
  tlsServer = await nats({ extraConfig: natsTlsConfig(ca) });
  mtlsServer = await nats({ extraConfig: natsTlsConfig(ca, true) });
  operatorServer = await nats({ extraConfig: operator.serverConfig });
  plainServer = await nats();
}, 60_000);
afterAll(async () => {
  for (const server of servers) await server.stop();
  await rm(dir, { recursive: true, force: true });
});

type Ending = { code: number | null; stderr: string; stdout: string };

/** Runs hookd until it exits (killed after 60 s, which fails the test: hookd must not hang). */
async function runHookd(env: Record<string, string>): Promise<Ending> {
  const dataDir = await mkdtemp(join(tmpdir(), "hookd-data-"));
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.node.ts"], {
    env: { ...process.env, HOOKD_KEY: TEST_KEY, HOOKD_PORT: "0", HOOKD_DATA_DIR: dataDir, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => void stopProcess(child, 1_000), 60_000);
  const code = await new Promise<number | null>((resolve) => child.once("exit", (exitCode) => resolve(exitCode)));
  clearTimeout(timer);
  await rm(dataDir, { recursive: true, force: true });
  return { code, stderr, stdout };
}

/** One line on stderr saying `cause`, exit 1, nothing secret printed anywhere. */
async function refusedWith(env: Record<string, string>, cause: RegExp): Promise<string> {
  const { code, stderr, stdout } = await runHookd(env);
  expect(stderr.trimEnd().split("\n"), stderr).toHaveLength(1);
  expect(stderr).toMatch(cause);
  expect(stderr + stdout).not.toMatch(/\bat .*\.(ts|js):\d+/);
  expect(stderr + stdout).not.toContain(SECRET);
  expect(code).toBe(1);
  return stderr;
}

/** "hookd's configuration is invalid:" and a line naming `variable`, exit 2. */
async function invalidConfig(env: Record<string, string>, variable: string, cause: RegExp): Promise<void> {
  const { code, stderr } = await runHookd(env);
  const [heading, ...lines] = stderr.trimEnd().split("\n");
  expect(heading).toBe("hookd's configuration is invalid:");
  expect(lines.find((line) => line.startsWith(`  ${variable}: `)), stderr).toMatch(cause);
  expect(stderr).not.toContain(SECRET);
  expect(code).toBe(2);
}

const withUser = (url: string, userinfo: string) => url.replace("nats://", `nats://${userinfo}@`);

describe("credentials NATS refuses", () => {
  it("a wrong password in NATS_URL", () =>
    refusedWith({ NATS_URL: withUser(users.url, "hookd:wrong-Pa55") }, /refused hookd's credentials.*check NATS_URL/));

  it("no credentials for a server that requires them", () =>
    refusedWith(
      { NATS_URL: users.url },
      /refused hookd's credentials.*set NATS_URL's user:password@, HOOKD_NATS_TOKEN/,
    ));

  it("a wrong token", () =>
    refusedWith({ NATS_URL: tokenServer.url, HOOKD_NATS_TOKEN: "not-it" }, /credentials.*check HOOKD_NATS_TOKEN$/m));

  it("an NKey the server does not know", async () => {
    const seedFile = join(dir, "stranger.nk");
    await writeFile(seedFile, new TextDecoder().decode(nkeys.createUser().getSeed()));
    await refusedWith({ NATS_URL: users.url, HOOKD_NATS_NKEY: seedFile }, /credentials.*check HOOKD_NATS_NKEY$/m);
  });

  it("a .creds file of an account the operator did not sign", () =>
    refusedWith(
      { NATS_URL: operatorServer.url, HOOKD_NATS_CREDS: operator.strangerCredsFile },
      /credentials.*check HOOKD_NATS_CREDS$/m,
    ));

  it("a user without a permission hookd needs", () =>
    refusedWith(
      { NATS_URL: withUser(users.url, `narrow:${SECRET}`) },
      /does not let hookd's user publish to "\$JS\.API\.STREAM\.INFO\.HOOKD_WORK".*hookd nats-permissions/,
    ));
});

describe("TLS that cannot work", () => {
  it("a certificate hookd has no CA for", () =>
    refusedWith({ NATS_URL: tlsServer.url.replace("nats://", "tls://") }, /does not trust.*set HOOKD_NATS_TLS_CA/));

  it("a CA that did not sign the server's certificate", () =>
    refusedWith(
      { NATS_URL: tlsServer.url, HOOKD_NATS_TLS_CA: ca.otherCa },
      /does not trust.*HOOKD_NATS_TLS_CA does not hold the CA/,
    ));

  it("no client certificate for a server that requires one", () =>
    refusedWith(
      { NATS_URL: mtlsServer.url, HOOKD_NATS_TLS_CA: ca.ca },
      /requires a client certificate.*set HOOKD_NATS_TLS_CERT and HOOKD_NATS_TLS_KEY/,
    ));

  it("tls:// to a server without TLS", () =>
    refusedWith({ NATS_URL: plainServer.url.replace("nats://", "tls://") }, /does not offer TLS.*NATS_URL/));
});

describe("servers that cannot serve hookd", () => {
  it("a server without JetStream", async () => {
    const port = await freePort();
    const bare = spawn("/usr/sbin/nats-server", ["-a", "127.0.0.1", "-p", String(port)], { stdio: "ignore" });
    try {
      await new Promise((resolve) => setTimeout(resolve, 300));
      await refusedWith(
        { NATS_URL: `nats://127.0.0.1:${port}`, HOOKD_NATS_CONNECT_TIMEOUT: "10s" },
        /has no JetStream/,
      );
    } finally {
      await stopProcess(bare);
    }
  });

  it("a JetStream domain the server does not have", () =>
    refusedWith(
      { NATS_URL: plainServer.url, HOOKD_JS_DOMAIN: "elsewhere" },
      /no JetStream in the JetStream domain "elsewhere".*HOOKD_JS_DOMAIN/,
    ));

  it("no server reachable within HOOKD_NATS_CONNECT_TIMEOUT, after one line saying it waits", async () => {
    const url = `nats://hookd:${SECRET}@127.0.0.1:${await freePort()}`;
    const stderr = await refusedWith(
      { NATS_URL: url, HOOKD_NATS_CONNECT_TIMEOUT: "2s" },
      /no NATS server reachable at nats:\/\/127\.0\.0\.1:\d+ within 2s.*NATS_URL.*HOOKD_NATS_CONNECT_TIMEOUT/,
    );
    expect(stderr).not.toContain("hookd:");
  });
});

describe("settings that contradict each other or name unreadable files", () => {
  it("two ways to authenticate", () =>
    invalidConfig(
      { NATS_URL: plainServer.url, HOOKD_NATS_CREDS: operator.credsFile, HOOKD_NATS_NKEY: "/x.nk" },
      "HOOKD_NATS_NKEY",
      /HOOKD_NATS_CREDS and HOOKD_NATS_NKEY/,
    ));

  it("a password in NATS_URL beside HOOKD_NATS_TOKEN", () =>
    invalidConfig(
      { NATS_URL: withUser(plainServer.url, `hookd:${SECRET}`), HOOKD_NATS_TOKEN: SECRET },
      "HOOKD_NATS_TOKEN",
      /one way to authenticate/,
    ));

  it("a client certificate without its key", () =>
    invalidConfig(
      { NATS_URL: mtlsServer.url, HOOKD_NATS_TLS_CERT: ca.clientCert },
      "HOOKD_NATS_TLS_KEY",
      /HOOKD_NATS_TLS_KEY is not set/,
    ));

  it("a creds file that is not there", () =>
    invalidConfig(
      { NATS_URL: operatorServer.url, HOOKD_NATS_CREDS: join(dir, "missing.creds") },
      "HOOKD_NATS_CREDS",
      /cannot read .*missing\.creds \(no such file\)/,
    ));

  it("a seed file that holds no seed", async () => {
    const notSeed = join(dir, "not-a-seed");
    await writeFile(notSeed, "hello\n");
    await invalidConfig(
      { NATS_URL: users.url, HOOKD_NATS_NKEY: notSeed },
      "HOOKD_NATS_NKEY",
      /does not hold a user NKey seed/,
    );
  });

  it("a HOOKD_CONFIG file that is not there", () =>
    invalidConfig(
      { NATS_URL: plainServer.url, HOOKD_CONFIG: join(dir, "missing.yaml") },
      "HOOKD_CONFIG",
      /cannot read .*missing\.yaml \(no such file\)$/,
    ));

  it("a credentials setting without NATS_URL", () =>
    invalidConfig({ HOOKD_NATS_TOKEN: SECRET }, "HOOKD_NATS_TOKEN", /needs NATS_URL/));
});
