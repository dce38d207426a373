import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { api, TEST_KEY } from "./support/hookd.ts";
import { killAll, untilNoneNaming } from "./support/leftovers.ts";
import { type HookdProcess, spawnHookd } from "./support/processes.ts";
import { type Receiver, startReceiver } from "./support/receiver.ts";

/**
 * A second hookd started beside a running one refuses on one line, stops whatever it started, and
 * leaves the first alone: in the same data folder (in use by the first's pid), or on the same port
 * (taken). Both entry points, Node and Deno. A folder whose hookd was killed is taken over.
 */

const root = resolve(import.meta.dirname, "..");
const NODE = [process.execPath, "--import", "tsx", "src/main.node.ts"];
const DENO = [join(root, "node_modules", ".bin", "deno"), "run", "-A", "src/main.deno.ts"];
const ENV = {
  HOOKD_KEY: TEST_KEY,
  HOOKD_ALLOWED_NETWORKS: "127.0.0.0/8",
  HOOKD_HOST: "127.0.0.1",
  HOOKD_LOG_LEVEL: "info",
  // The embedded nats-server, whatever the caller's environment says.
  NATS_URL: "",
};

let receiver: Receiver;
const folders: string[] = [];
const running: HookdProcess[] = [];

beforeAll(async () => {
  receiver = await startReceiver();
});
afterEach(async () => {
  for (const hookd of running.splice(0)) await hookd.stop();
  for (const folder of folders.splice(0)) {
    killAll(await untilNoneNaming(folder, 0));
    await rm(folder, { recursive: true, force: true });
  }
});
afterAll(async () => {
  await receiver.stop();
});

async function folder(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "hookd-second-"));
  folders.push(dir);
  return dir;
}

/** The first hookd, in `dataDir` (a folder the test keeps, so a killed hookd leaves its files there). */
async function first(dataDir: string): Promise<HookdProcess> {
  const hookd = await spawnHookd({ command: NODE, env: { ...ENV, HOOKD_PORT: "0", HOOKD_DATA_DIR: dataDir } });
  running.push(hookd);
  return hookd;
}

type Ended = { code: number | null; stdout: string; stderr: string };

/** Runs a start that is expected to refuse; fails the test if it is still running after a minute. */
function refusedStart(command: string[], env: Record<string, string>): Promise<Ended> {
  const [program, ...args] = command;
  const child = spawn(program!, args, { cwd: root, env: { ...process.env, ...ENV, ...env } });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((done, fail) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      fail(new Error(`the second start did not refuse within 60 s:\n${stdout}\n${stderr}`));
    }, 60_000);
    child.once("close", (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
  });
}

/** One line on stderr that says `why`, and no stack trace anywhere. */
function expectOneLine(ended: Ended, why: RegExp): void {
  const output = `${ended.stdout}\n${ended.stderr}`;
  expect(ended.code, output).toBe(1);
  const lines = ended.stderr.split("\n").filter((line) => line.trim() !== "");
  expect(lines, output).toHaveLength(1);
  expect(lines[0]).toMatch(why);
  expect(output).not.toMatch(/^\s+at /m);
}

/** The first still serves: healthy, and it delivers. */
async function expectServing(hookd: HookdProcess): Promise<void> {
  const health = await fetch(`${hookd.url}/healthz`);
  expect(health.status).toBe(200);
  expect(await health.json()).toEqual({ status: "ok", nats: "connected", streams: "led", leaderless_streams: [] });
  const before = receiver.requests.length;
  const accepted = await api(hookd.url, `/dispatch?_url=${encodeURIComponent(`${receiver.url}/after`)}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: '{"still":"here"}',
  });
  expect(accepted.status).toBe(202);
  const [request] = (await receiver.waitFor(before + 1)).slice(before);
  expect(request!.body.toString()).toBe('{"still":"here"}');
}

describe("a second start in the same data folder", () => {
  it(
    "refuses on one line naming the first's pid (npm start, as a user runs it twice)",
    { timeout: 120_000 },
    async () => {
      const dir = await folder();
      const hookd = await first(dir);
      const port = new URL(hookd.url).port;

      const second = await refusedStart(["npm", "start"], { HOOKD_DATA_DIR: dir, HOOKD_PORT: port });

      expectOneLine(second, new RegExp(`data folder ${dir}: hookd pid ${hookd.child.pid} is using it`));
      await expectServing(hookd);
    },
  );

  it("refuses on Deno too", { timeout: 120_000 }, async () => {
    const dir = await folder();
    const hookd = await first(dir);

    const second = await refusedStart(DENO, { HOOKD_DATA_DIR: dir, HOOKD_PORT: "0" });

    expectOneLine(second, new RegExp(`hookd pid ${hookd.child.pid} is using it`));
    await expectServing(hookd);
  });

  it("is taken over once the first was killed without a chance to clean up", { timeout: 120_000 }, async () => {
    const dir = await folder();
    const killed = await first(dir);
    await killed.kill("SIGKILL");
    expect((await readFile(join(dir, "hookd.lock"), "utf8")).split("\n")[0]).toBe(String(killed.child.pid));

    const next = await first(dir);

    expect((await readFile(join(dir, "hookd.lock"), "utf8")).split("\n")[0]).toBe(String(next.child.pid));
    await expectServing(next);
  });
});

describe("a second start on a port that is taken", () => {
  for (const [runtime, command] of [["Node", NODE], ["Deno", DENO]] as const) {
    it(
      `refuses on one line naming HOOKD_PORT and leaves nothing running (${runtime})`,
      { timeout: 120_000 },
      async () => {
        const hookd = await first(await folder());
        const port = new URL(hookd.url).port;
        const other = await folder();

        const second = await refusedStart(command, { HOOKD_DATA_DIR: other, HOOKD_PORT: port });

        expectOneLine(second, new RegExp(`127\\.0\\.0\\.1:${port}: the port is taken \\(HOOKD_PORT=${port}\\)`));
        expect(await untilNoneNaming(other, 5_000)).toEqual([]);
        await expectServing(hookd);
      },
    );
  }
});
