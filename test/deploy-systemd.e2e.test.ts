import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "./support/hookd.ts";
import { freePort, type NatsProcess, startNats } from "./support/processes.ts";
import {
  commandWords,
  parseEnvironmentFile,
  parseUnitFile,
  timeSpanMs,
  type UnitFile,
} from "./support/systemd-files.ts";

/**
 * deploy/systemd (docs/deploy.md) without systemd, which this sandbox does not run: the unit's
 * settings as systemd reads them, `systemd-analyze verify` where it is installed, and the unit's
 * ExecStart run the way systemd would: its environment file's variables (pointed at a test
 * nats-server, a free port and a temporary data folder) and nothing of this process's environment
 * but PATH; hookd answers /healthz and exits on SIGTERM within TimeoutStopSec.
 */

const ROOT = resolve(import.meta.dirname, "..");
const UNIT = join(ROOT, "deploy/systemd/hookd.service");
const ENV_FILE = join(ROOT, "deploy/systemd/hookd.env");
/** Where the unit expects hookd's checkout; the test runs this checkout instead. */
const INSTALLED_AT = "/opt/hookd";

let unit: UnitFile;
const setting = (section: string, key: string) => unit.get(section)?.get(key) ?? [];

beforeAll(async () => {
  unit = parseUnitFile(await readFile(UNIT, "utf8"));
});

describe("deploy/systemd/hookd.service", () => {
  it("runs hookd as its own user, from its environment file, restarting on failure, hardened", () => {
    expect(setting("Service", "User")).toEqual(["hookd"]);
    expect(setting("Service", "EnvironmentFile")).toEqual(["/etc/hookd/hookd.env"]);
    expect(setting("Service", "Restart")).toEqual(["on-failure"]);
    expect(setting("Service", "WorkingDirectory")).toEqual([INSTALLED_AT]);
    const exec = commandWords(setting("Service", "ExecStart")[0] ?? "");
    expect(exec).toEqual(["/usr/bin/node", `${INSTALLED_AT}/bin/serve.mjs`]);
    // The data folder the environment file names is the one systemd makes for the unit.
    expect(setting("Service", "StateDirectory")).toEqual(["hookd"]);
    for (
      const [key, value] of [
        ["NoNewPrivileges", "yes"],
        ["ProtectSystem", "strict"],
        ["ProtectHome", "yes"],
        ["PrivateTmp", "yes"],
        ["CapabilityBoundingSet", ""],
      ]
    ) expect(setting("Service", key!), key).toEqual([value]);
    expect(setting("Install", "WantedBy")).toEqual(["multi-user.target"]);
  });

  it("passes systemd-analyze verify without a warning", async (context) => {
    const found = await promisify(execFile)("sh", ["-c", "command -v systemd-analyze"]).catch(() => null);
    if (!found) {
      console.log("systemd-analyze is not installed here: skipping `systemd-analyze verify`");
      context.skip();
    }
    const { stderr } = await promisify(execFile)("systemd-analyze", ["verify", UNIT]);
    expect(stderr).toBe("");
  });
});

describe("deploy/systemd/hookd.env", () => {
  let env: Record<string, string>;
  beforeAll(async () => {
    env = parseEnvironmentFile(await readFile(ENV_FILE, "utf8"));
  });

  it("sets what every instance of a deployment shares, and the data folder the unit makes", () => {
    expect(Object.keys(env)).toEqual(
      expect.arrayContaining(["NATS_URL", "HOOKD_KEY", "HOOKD_SECRETS_KEY", "HOOKD_REPLICAS", "HOOKD_NAMESPACE"]),
    );
    expect(env.NATS_URL!.split(",")).toHaveLength(3);
    expect(env.HOOKD_DATA_DIR).toBe(`/var/lib/${setting("Service", "StateDirectory")[0]}`);
    expect(env.HOOKD_KEY!.length).toBeGreaterThanOrEqual(16);
  });

  describe("with the unit's ExecStart", () => {
    let nats: NatsProcess;
    let dataDir: string;
    let child: ChildProcess | undefined;
    beforeAll(async () => {
      nats = await startNats();
      dataDir = await mkdtemp(join(tmpdir(), "hookd-systemd-"));
    });
    afterAll(async () => {
      if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await nats?.stop();
      await rm(dataDir, { recursive: true, force: true });
    });

    it("starts hookd, which answers /healthz and stops on SIGTERM within TimeoutStopSec", async () => {
      const port = await freePort();
      // The file's values, but a loopback test NATS (one node: one replica), a free port and a temporary folder.
      const serviceEnv = {
        PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        ...env,
        NATS_URL: nats.url,
        HOOKD_REPLICAS: "1",
        HOOKD_HOST: "127.0.0.1",
        HOOKD_PORT: String(port),
        HOOKD_DATA_DIR: dataDir,
      };
      const [program, ...args] = commandWords(setting("Service", "ExecStart")[0]!).map((word) =>
        word.replace(INSTALLED_AT, ROOT)
      );
      // /usr/bin/node is Debian's; a machine whose node is elsewhere runs the same command with its own.
      const node = program === process.execPath ? program : process.execPath;
      let output = "";
      child = spawn(node, args, { cwd: ROOT, env: serviceEnv, stdio: ["ignore", "pipe", "pipe"] });
      child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
      child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
      const exited = new Promise<number | null>((done) => child!.once("exit", (code) => done(code)));
      const health = await eventually(
        async () => {
          if (child!.exitCode !== null) throw new Error(`hookd exited: ${output}`);
          const response = await fetch(`http://127.0.0.1:${port}/healthz`);
          return response.status === 200 ? ((await response.json()) as { status: string }) : undefined;
        },
        60_000,
        `hookd's /healthz (output: ${output.slice(-500)})`,
      );
      expect(health.status).toBe("ok");

      const stopWithin = timeSpanMs(setting("Service", "TimeoutStopSec")[0] ?? "90s");
      child.kill("SIGTERM");
      const code = await Promise.race([
        exited,
        new Promise<"still running">((done) => setTimeout(() => done("still running"), stopWithin).unref()),
      ]);
      expect(code, output.slice(-1_000)).toBe(0);
    }, 120_000);
  });
});
