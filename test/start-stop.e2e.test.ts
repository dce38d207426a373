import { copyFile, mkdir, mkdtemp, rm, symlink } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { spawnSync } from "node:child_process";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { currentBundle } from "../bin/bundles.mjs";
import { type HookdProcess, spawnHookd } from "./support/processes.ts";
import { killAll, untilNoneNaming } from "./support/leftovers.ts";

/**
 * Every documented way of starting hookd stops cleanly when the process it starts gets SIGTERM or
 * SIGINT, as a supervisor or `kill <pid>` sends them: that process exits, hookd and its embedded
 * nats-server are gone, and the port no longer answers. The shell npm runs a command under can keep
 * a signal from reaching it (see .npmrc and scripts/start.sh), so these start the real commands, npm
 * and npx included. Each starts in a session of its own (setsid), so Ctrl-C can be played by
 * signalling its whole process group.
 */

const root = resolve(import.meta.dirname, "..");
const DENO = join(root, "node_modules", ".bin", "deno");
const EXIT_MS = 20_000;

/** `runs`: what hookd's "listening" line says it runs; npm start builds the bundle first when it is stale (npm test built it). */
const STARTS: { how: string; command: string[]; runs: string }[] = [
  { how: "npm start", command: ["npm", "start"], runs: "node v\\d+\\S* \\(bundle\\)" },
  { how: "npx hookd serve", command: ["npx", "hookd", "serve"], runs: "node v\\d+\\S* \\(bundle\\)" },
  { how: "node bin/serve.mjs", command: [process.execPath, "bin/serve.mjs"], runs: "node v\\d+\\S* \\(bundle\\)" },
  {
    how: "node --import tsx src/main.node.ts",
    command: [process.execPath, "--import", "tsx", "src/main.node.ts"],
    runs: "node v\\d+\\S* \\(sources\\)",
  },
  { how: "npx deno run -A src/main.deno.ts", command: ["npx", "deno", "run", "-A", "src/main.deno.ts"], runs: "deno " },
  { how: "deno run -A src/main.deno.ts", command: [DENO, "run", "-A", "src/main.deno.ts"], runs: "deno " },
];

const started: HookdProcess[] = [];

// The starts that run a bundle expect it current, as npm test leaves it; run alone after an edit, build it here.
beforeAll(() => {
  if (currentBundle("server", "main.js") && currentBundle("cli", "hookd.js")) return;
  for (const script of ["build:server", "build:cli"]) {
    expect(spawnSync("npm", ["run", "--silent", script], { cwd: root, stdio: "inherit" }).status).toBe(0);
  }
}, 120_000);

afterEach(async () => {
  for (const hookd of started.splice(0)) {
    killAll(await untilNoneNaming(hookd.dataDir, 0));
    await hookd.kill("SIGKILL");
  }
});

async function start(command: string[]): Promise<HookdProcess> {
  const hookd = await spawnHookd({
    command: ["setsid", ...command],
    // The embedded nats-server, whatever the caller's environment says; and no npm of the caller's to follow.
    env: { HOOKD_PORT: "0", HOOKD_HOST: "127.0.0.1", NATS_URL: "", npm_lifecycle_event: "" },
  });
  started.push(hookd);
  return hookd;
}

function exited(hookd: HookdProcess): Promise<number | string | null> {
  const { child } = hookd;
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode ?? child.signalCode);
  return new Promise((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`still running ${EXIT_MS} ms after the signal`)), EXIT_MS);
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      done(code ?? signal);
    });
  });
}

function answers(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((done) => {
    const socket = connect({ host: hostname, port: Number(port) });
    socket.setTimeout(2_000, () => socket.destroy());
    socket.once("connect", () => {
      socket.destroy();
      done(true);
    });
    socket.once("error", () => done(false));
    socket.once("close", () => done(false));
  });
}

/** After the signal: the started process exits, nothing of this hookd is left, and its port is closed. */
async function expectStopped(hookd: HookdProcess): Promise<void> {
  await exited(hookd);
  const left = await untilNoneNaming(hookd.dataDir);
  expect(left, `left running:\n${left.map((p) => `${p.pid} ${p.command}`).join("\n")}`).toEqual([]);
  expect(await answers(hookd.url)).toBe(false);
  expect(hookd.output()).toMatch(/"msg":"stopping"/);
}

describe.each(STARTS)("$how", ({ command, runs }) => {
  it.each(["SIGTERM", "SIGINT"] as const)(
    "stops hookd and its nats-server on %s",
    { timeout: 90_000 },
    async (signal) => {
      const hookd = await start(command);
      const health = await fetch(`${hookd.url}/healthz`);
      expect(await health.json()).toEqual({ status: "ok", nats: "connected", streams: "led", leaderless_streams: [] });
      expect(hookd.output()).toMatch(new RegExp(`"runtime":"${runs}`));
      // The console's own script is read from src/console/public, whether hookd runs from its sources or its bundle.
      const script = await fetch(`${hookd.url}/console/assets/console.js`);
      expect(script.status).toBe(200);
      expect(await script.text()).toMatch(/\S/);

      process.kill(hookd.child.pid!, signal);
      await expectStopped(hookd);
    },
  );
});

it(
  "node bin/serve.mjs without a current bundle runs the sources through tsx, and says why",
  { timeout: 90_000 },
  async () => {
    // A package root of its own, with no dist/: bin/ copied, the sources and dependencies linked.
    const unbuilt = await mkdtemp(join(tmpdir(), "hookd-unbuilt-"));
    try {
      await mkdir(join(unbuilt, "bin"));
      for (const file of ["bundles.mjs", "serve.mjs"]) {
        await copyFile(join(root, "bin", file), join(unbuilt, "bin", file));
      }
      for (const linked of ["src", "actors", "node_modules", "package.json", "tsconfig.json"]) {
        await symlink(join(root, linked), join(unbuilt, linked));
      }
      const hookd = await start([process.execPath, join(unbuilt, "bin", "serve.mjs")]);
      expect((await fetch(`${hookd.url}/healthz`)).status).toBe(200);
      expect(hookd.output()).toContain("dist/server/main.js is missing or was built from other sources");
      expect(hookd.output()).toMatch(/"runtime":"node v\d+\S* \(sources\)/);
      process.kill(hookd.child.pid!, "SIGTERM");
      await expectStopped(hookd);
    } finally {
      await rm(unbuilt, { recursive: true, force: true });
    }
  },
);

it("npm start stops on Ctrl-C (SIGINT to its whole process group)", { timeout: 90_000 }, async () => {
  const hookd = await start(["npm", "start"]);
  process.kill(-hookd.child.pid!, "SIGINT");
  await expectStopped(hookd);
});

it(
  "npm start's hookd stops when npm itself is killed with SIGKILL, which it cannot pass on",
  { timeout: 90_000 },
  async () => {
    const hookd = await start(["npm", "start"]);
    process.kill(hookd.child.pid!, "SIGKILL");
    await expectStopped(hookd);
  },
);
