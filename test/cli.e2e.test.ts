import { execFile } from "node:child_process";
import { cp, mkdir, mkdtemp, readFile, rm, symlink, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { hookdSuite } from "./support/suite.ts";
import { api, TEST_KEY, tokenFor, waitForState } from "./support/hookd.ts";
import { spawnHookd } from "./support/processes.ts";

const run = promisify(execFile);
const hookdCli = (args: string[], env: Record<string, string> = {}) =>
  run(process.execPath, ["bin/hookd.mjs", ...args], { env: { ...process.env, HOOKD_KEY: TEST_KEY, ...env } });

const suite = hookdSuite({
  respond: (_request, index) => (index === 0 ? { status: 503, headers: { "retry-after": "0" } } : { status: 200 }),
});

describe("hookd CLI", () => {
  it("says there are no subscriptions rather than printing nothing", async () => {
    expect((await hookdCli(["subscriptions", "list", "--url", suite.hookd.url])).stdout).toBe("no subscriptions\n");
    const forTopic = await hookdCli(["subscriptions", "list", "--topic", "no/one", "--url", suite.hookd.url]);
    expect(forTopic.stdout).toBe("no subscriptions for topic no/one\n");
  });

  it("make-tokens prints URLs that carry each path's token", async () => {
    const { stdout } = await hookdCli(["make-tokens", "/dispatch", "/pub/foo/", "--url", "https://hooks.example.org"]);
    expect(stdout.trim().split("\n")).toEqual([
      `https://${await tokenFor("/dispatch")}@hooks.example.org/dispatch`,
      `https://${await tokenFor("/pub/foo/")}@hooks.example.org/pub/foo/`,
    ]);
  });

  it("make-tokens --expires issues a token that works until hookd revoke revokes it", async () => {
    const base = suite.hookd.url;
    const { stdout } = await hookdCli(["make-tokens", "--expires", "1h", "/api/v1/deliveries/", "--url", base]);
    const token = decodeURIComponent(new URL(stdout.trim()).username);
    expect(token).toMatch(/^hkd1\./);
    const list = () =>
      fetch(`${base}/api/v1/deliveries/dlv_00000000000000000000000000`, {
        headers: { authorization: `Bearer ${token}` },
      });
    expect((await list()).status).toBe(404); // granted: the delivery just does not exist
    await hookdCli(["revoke", token, "--url", base]);
    const refused = await list();
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as { type: string }).type).toBe("urn:hookd:problem:token-revoked");
  });

  it("reseal reports what it sealed under the current key, and until when deliveries need the old keys", async () => {
    const { stdout } = await hookdCli(["reseal", "--url", suite.hookd.url]);
    expect(stdout).toMatch(
      /^sealed under key [\w-]+: 0 of \d+ subscriptions re-sealed; signing secret: current\n(?:.*)until \d{4}-\d\d-\d\dT/,
    );
  });

  it("make-tokens refuses something that is not a path", async () => {
    await expect(hookdCli(["make-tokens", "dispatch"])).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/paths start with \//),
    });
  });

  it("inspect prints the delivery's journal as a timeline", async () => {
    const response = await api(suite.hookd.url, `/dispatch?_url=${encodeURIComponent(suite.receiver.url + "/cli")}`, {
      method: "POST",
      body: "x",
    });
    const { id } = await response.json();
    await waitForState(suite.hookd.url, id, "delivered");
    const { stdout } = await hookdCli(["inspect", id, "--url", suite.hookd.url]);
    const lines = stdout.trim().split("\n");
    expect(lines[0]).toBe(`${id}  POST ${suite.receiver.url}/cli`);
    expect(lines[1]).toMatch(/^state: delivered\s+attempts: 2\/4/);
    const events = lines.slice(3).map((line) => line.split(/\s+/).slice(2, 5).join(" "));
    expect(events).toEqual([
      "delivery.created → pending",
      "attempt.started → in-flight",
      "attempt.failed → backoff",
      "attempt.started → in-flight",
      "attempt.succeeded → delivered",
    ]);
    expect(stdout).toMatch(/attempt 1: HTTP 503 in [\d.]+ms; next attempt at /);
  });

  it("subscriptions create, list and delete; publish from a file reaches the subscriber", async () => {
    const created = await hookdCli([
      "subscriptions",
      "create",
      "cli/topic",
      `${suite.receiver.url}/sub`,
      "--dialect",
      "plain",
      "--url",
      suite.hookd.url,
    ]);
    const id = created.stdout.split(/\s+/)[0]!;
    expect(id).toMatch(/^sub_/);
    expect(created.stdout).toMatch(/active\s+cli\/topic\s+→/);
    const listed = await hookdCli(["subscriptions", "list", "--topic", "cli/topic", "--url", suite.hookd.url]);
    expect(listed.stdout).toContain(id);

    const dir = await mkdtemp(join(tmpdir(), "hookd-cli-"));
    const file = join(dir, "event.json");
    await writeFile(file, '{"from":"cli"}');
    const before = suite.receiver.requests.length;
    const published = await hookdCli(["publish", "cli/topic", file, "--type", "cli.test", "--url", suite.hookd.url]);
    expect(published.stdout).toMatch(/^evt_[0-9A-Z]{26} seq \d+\n$/);
    const request = (await suite.receiver.waitFor(before + 1))[before]!;
    expect(request.body.toString()).toBe('{"from":"cli"}');
    expect(request.headers["content-type"]).toBe("application/json");
    expect(request.headers["hookd-event-type"]).toBe("cli.test");
    await rm(dir, { recursive: true, force: true });

    const deleted = await hookdCli(["subscriptions", "delete", id, "--url", suite.hookd.url]);
    expect(deleted.stdout).toBe(`${id} unsubscribed\n`);
    expect((await hookdCli(["subscriptions", "list", "--topic", "cli/topic", "--url", suite.hookd.url])).stdout).not
      .toContain(id);
    await expect(hookdCli(["subscriptions", "create", "a//b", "http://127.0.0.1:1/", "--url", suite.hookd.url])).rejects
      .toMatchObject({
        code: 1,
        stderr: expect.stringMatching(/hookd answered 400: topic: the topic has an empty segment/),
      });
  });

  it("inspect reports hookd's problem for an unknown id", async () => {
    await expect(hookdCli(["inspect", "dlv_01ARZ3NDEKTSV4RRFFQ69G5FAV", "--url", suite.hookd.url])).rejects
      .toMatchObject({
        code: 1,
        stderr: expect.stringMatching(/hookd answered 404: There is no delivery/),
      });
  });
});

const COMMAND_NAMES = [
  "serve",
  "inspect",
  "make-tokens",
  "revoke",
  "reseal",
  "secret",
  "publish",
  "tail",
  "subscriptions",
  "nats-permissions",
  "backup",
  "restore",
  "help",
];

describe("hookd CLI: help, version, and how it starts", () => {
  it("--version prints package.json's version", async () => {
    const { version } = JSON.parse(await readFile("package.json", "utf8")) as { version: string };
    expect((await hookdCli(["--version"])).stdout).toBe(`hookd ${version}\n`);
  });

  it("help lists every command, and help <command> and <command> --help print its usage", async () => {
    const { stdout } = await hookdCli(["help"]);
    const listed = stdout.split("\n").filter((line) => /^ {2}[a-z]/.test(line)).map((line) =>
      line.trim().split(" ")[0]
    );
    expect(listed.filter((name) => !name!.startsWith("-"))).toEqual(COMMAND_NAMES);
    for (const name of COMMAND_NAMES) {
      const viaHelp = (await hookdCli(["help", name])).stdout;
      expect(viaHelp, name).toMatch(new RegExp(`^usage: hookd ${name}`));
      // --help on a subcommand prints and does nothing else: `serve --help` starts no server.
      expect((await hookdCli([name, "--help"])).stdout, name).toBe(viaHelp);
    }
    expect((await hookdCli(["subscriptions", "list", "-h"])).stdout).toMatch(/^usage: hookd subscriptions list/);
  });

  it("nats-permissions prints the block docs/nats.md shows, and another namespace's and domain's", async () => {
    const doc = await readFile("docs/nats.md", "utf8");
    const { stdout } = await hookdCli(["nats-permissions"]);
    expect(doc).toContain(`\`\`\`\n${stdout}\`\`\``);
    const other = JSON.parse(
      (await hookdCli(["nats-permissions", "--namespace", "staging", "--domain", "hub", "--json"])).stdout,
    );
    expect(other.publish).toContain("$JS.hub.API.STREAM.CREATE.STAGING_WORK");
    expect(other.publish).toContain("staging.work.>");
    // The server in the domain checks the subject it maps the domain's API onto too.
    expect(other.publish).toContain("$JS.API.STREAM.CREATE.STAGING_WORK");
    expect(JSON.stringify(other)).not.toMatch(/"hookd\.|HOOKD_/);
    // The namespace and domain hookd itself would use, from its environment, as a systemd EnvironmentFile sets them.
    const fromEnv = await hookdCli(["nats-permissions", "--json"], {
      HOOKD_NAMESPACE: "staging",
      HOOKD_JS_DOMAIN: "hub",
    });
    expect(JSON.parse(fromEnv.stdout)).toEqual(other);
  });

  it("refuses an unknown command or option with exit 2 and says where help is", async () => {
    await expect(hookdCli(["frobnicate"])).rejects.toMatchObject({
      code: 2,
      stderr: 'unknown command "frobnicate"; hookd help lists the commands\n',
    });
    await expect(hookdCli(["help", "frobnicate"])).rejects.toMatchObject({ code: 2 });
    await expect(hookdCli(["inspect", "--frobnicate"])).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/Unknown option '--frobnicate'[^]*hookd help <command>/),
    });
  });

  it("serve still starts the server from the CLI's bundle (the sources through tsx)", async () => {
    const server = await spawnHookd({
      command: [process.execPath, "bin/hookd.mjs", "serve"],
      env: { NATS_URL: suite.nats.url, HOOKD_KEY: TEST_KEY, HOOKD_PORT: "0", HOOKD_SIGNING_SECRET: "off" },
    });
    try {
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    } finally {
      await server.stop();
    }
  });

  it("bin/hookd.mjs runs the bundle while it is current, and the sources when it is missing or stale", async () => {
    // A package of stand-ins: the real bin, a "bundle" and "sources" that only say which they are.
    const pkg = await mkdtemp(join(tmpdir(), "hookd-bin-"));
    try {
      await mkdir(join(pkg, "dist/cli"), { recursive: true });
      await mkdir(join(pkg, "src/cli"), { recursive: true });
      await cp("bin", join(pkg, "bin"), { recursive: true });
      await symlink(resolve("node_modules"), join(pkg, "node_modules"), "dir");
      await writeFile(join(pkg, "package.json"), '{"type":"module"}');
      await writeFile(join(pkg, "src/cli/hookd.ts"), 'const from: string = "sources";\nconsole.log(from);\n');
      const whichRuns = async () => (await run(process.execPath, [join(pkg, "bin/hookd.mjs")])).stdout.trim();

      expect(await whichRuns()).toBe("sources");
      await writeFile(join(pkg, "tsconfig.json"), "{}");
      await writeFile(join(pkg, "dist/cli/hookd.js"), 'console.log("bundle");\n');
      await writeFile(join(pkg, "dist/cli/meta.json"), JSON.stringify({ inputs: { "src/cli/hookd.ts": {} } }));
      // Built but not stamped (a build still running): not current yet.
      expect(await whichRuns()).toBe("sources");
      // The last step of package.json's build:cli.
      await run(process.execPath, [join(pkg, "bin/bundles.mjs"), "stamp", "cli", "hookd.js"]);
      expect(await whichRuns()).toBe("bundle");
      // A source changed after the build, though its date says otherwise: the bundle is stale.
      await writeFile(join(pkg, "src/cli/hookd.ts"), 'const from: string = "sources";\nconsole.log(from); // edited\n');
      const past = new Date(Date.now() - 3_600_000);
      await utimes(join(pkg, "src/cli/hookd.ts"), past, past);
      expect(await whichRuns()).toBe("sources");
    } finally {
      await rm(pkg, { recursive: true, force: true });
    }
  });
});
