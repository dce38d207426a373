import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { freePort } from "./support/processes.ts";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { assign, promisePattern } from "./support/doc-scripts.ts";
import { section, shellBlocks } from "./support/markdown.ts";

/**
 * The README's commands, run as written. The quick start's first block starts hookd (`npm start`,
 * its own nats-server, the embedded default); the other blocks run in order in one shell, as a
 * user would type them in a second terminal. Only the two addresses change: the test gives hookd
 * and the receiver free ports and hookd a temporary data folder, by setting HOOKD_PORT and
 * HOOKD_DATA_DIR for both shells and the values of the `HOOKD=` and `RECEIVER=` lines.
 * Comments of the form `# → …` or `# the … prints: …` are promises, checked against the output.
 */

const root = resolve(import.meta.dirname, "..");
const STARTUP_MS = 90_000;

type Started = { child: ChildProcess; output: () => string; exited: Promise<void> };
const started: Started[] = [];
const folders: string[] = [];

/** The caller's environment without anything that would point hookd elsewhere. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of Object.keys(env)) if (name.startsWith("HOOKD_") || name === "NATS_URL") delete env[name];
  return { ...env, ...extra };
}

/** Runs a shell script in a process group of its own, so everything it starts can be stopped together. */
function shell(script: string, env: NodeJS.ProcessEnv): Started {
  const child = spawn("bash", ["-e", "-o", "pipefail", "-c", script], {
    cwd: root,
    env,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((done) => child.once("close", () => done()));
  const handle = { child, output: () => output, exited };
  started.push(handle);
  return handle;
}

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM to the whole group (npm, bash, node, nats-server), then SIGKILL for whatever is left after 15 s. */
async function stopGroup(handle: Started): Promise<void> {
  const pid = handle.child.pid!;
  if (!groupAlive(pid)) return;
  process.kill(-pid, "SIGTERM");
  const deadline = Date.now() + 15_000;
  while (groupAlive(pid) && Date.now() < deadline) await new Promise((done) => setTimeout(done, 100));
  if (groupAlive(pid)) process.kill(-pid, "SIGKILL");
}

async function waitForListening(handle: Started): Promise<string> {
  const deadline = Date.now() + STARTUP_MS;
  for (;;) {
    const match = /"url":"(http:\/\/[^"]+)"[^\n]*hookd is listening/.exec(handle.output());
    if (match) return match[1]!;
    if (handle.child.exitCode !== null) {
      throw new Error(`hookd exited with ${handle.child.exitCode}:\n${handle.output()}`);
    }
    if (Date.now() > deadline) throw new Error(`hookd did not start:\n${handle.output()}`);
    await new Promise((done) => setTimeout(done, 100));
  }
}

/** What a `# → …` or `# the … prints: …` comment promises: each part (parts are split by two spaces), `…` standing for anything. */
function promises(script: string): RegExp[] {
  const result: RegExp[] = [];
  for (const line of script.split("\n")) {
    const comment = /#\s*(?:→|the \w+ prints:)\s*(.+)$/.exec(line);
    if (!comment) continue;
    for (const part of comment[1]!.trim().split(/\s{2,}/)) {
      result.push(promisePattern(part));
    }
  }
  return result;
}

afterEach(async () => {
  for (const handle of started.splice(0)) await stopGroup(handle);
  for (const folder of folders.splice(0)) await rm(folder, { recursive: true, force: true });
});

describe("the README", () => {
  it("runs its quick start as written against hookd started by its own command", { timeout: 180_000 }, async () => {
    const readme = await readFile(join(root, "README.md"), "utf8");
    const blocks = shellBlocks(section(readme, "Quick start"));
    const start = blocks.find((block) => /\bnpm start\b/.test(block));
    expect(start, "a quick-start block starts hookd with npm start").toBeDefined();
    const examples = blocks.filter((block) => block !== start);
    expect(examples.length).toBeGreaterThan(0);

    const dataDir = await mkdtemp(join(tmpdir(), "hookd-readme-"));
    folders.push(dataDir);
    const env = cleanEnv({ HOOKD_PORT: String(await freePort()), HOOKD_DATA_DIR: dataDir });
    const hookd = shell(start!, env);
    const url = await waitForListening(hookd);

    let script = examples.join("\n");
    script = assign(script, "HOOKD_URL", url);
    script = assign(script, "RECEIVER", `127.0.0.1:${await freePort()}`);
    // The user's shell knows only what the README tells it: not the port hookd was started on.
    const user = shell(script, cleanEnv({ HOOKD_DATA_DIR: dataDir }));
    await user.exited;
    const output = user.output();
    expect(user.child.exitCode, `the quick start's commands failed:\n${output}\n--- hookd:\n${hookd.output()}`).toBe(0);

    const promised = promises(script);
    expect(promised.length, "the quick start says what its commands print").toBeGreaterThanOrEqual(3);
    for (const promise of promised) expect(output).toMatch(promise);
    // The inspect line's comment names the states; delivery took one attempt, so the timeline ends delivered.
    expect(output).toMatch(/state: delivered/);
  });

  it("starts hookd on Deno with the command it gives", { timeout: 120_000 }, async () => {
    const readme = await readFile(join(root, "README.md"), "utf8");
    const line = shellBlocks(readme)
      .flatMap((block) => block.split("\n"))
      .find((text) => /\bdeno run\b/.test(text));
    expect(line, "the README gives a command that runs hookd on Deno").toBeDefined();
    const command = line!.replace(/\s+#.*$/, "");

    const dataDir = await mkdtemp(join(tmpdir(), "hookd-readme-deno-"));
    folders.push(dataDir);
    const hookd = shell(command, cleanEnv({ HOOKD_PORT: String(await freePort()), HOOKD_DATA_DIR: dataDir }));
    const url = await waitForListening(hookd);
    expect(hookd.output()).toContain('"runtime":"deno');
    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: "ok", nats: "connected", streams: "led", leaderless_streams: [] });
  });
});
