import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { request } from "undici";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { adminToken, TEST_KEY } from "./support/hookd.ts";
import { killAll, untilNoneNaming } from "./support/leftovers.ts";
import {
  forkedPids,
  type HookdProcess,
  linesWith,
  LISTENING_LINE,
  type NatsProcess,
  spawnHookd,
  startNats,
  untilListening,
} from "./support/processes.ts";
import { type Receiver, startReceiver } from "./support/receiver.ts";

/**
 * HOOKD_PROCESSES: hookd as several processes on one port (Node's cluster). Each takes connections
 * and delivers; a scrape of /metrics counts every process's work whichever one answers it; a
 * signal to hookd stops them all, and one that dies stops the others and hookd with it.
 */

const root = resolve(import.meta.dirname, "..");
const DENO = join(root, "node_modules", ".bin", "deno");

let nats: NatsProcess;
let receiver: Receiver;
const running: HookdProcess[] = [];

beforeAll(async () => {
  nats = await startNats();
  receiver = await startReceiver();
});
afterAll(async () => {
  await receiver.stop();
  await nats.stop();
});
afterEach(async () => {
  for (const hookd of running.splice(0)) {
    killAll(await untilNoneNaming(hookd.dataDir, 0));
    await hookd.kill("SIGKILL");
  }
});

/** Each process compiles the sources through tsx as it starts: on a busy machine three took over 30 s. */
const START_MS = 90_000;

/**
 * Every process listening within START_MS. `key: false` leaves HOOKD_KEY unset, so hookd makes a token
 * key and prints the admin token; the secrets it seals then open only under that key, so such a hookd
 * needs a NATS (`natsUrl`) of its own.
 */
async function startProcesses(
  count: number,
  { key = true, natsUrl = nats.url }: { key?: boolean; natsUrl?: string } = {},
): Promise<HookdProcess> {
  const deadline = Date.now() + START_MS;
  const hookd = await spawnHookd({
    env: {
      NATS_URL: natsUrl,
      ...(key ? { HOOKD_KEY: TEST_KEY } : {}),
      HOOKD_PORT: "0",
      HOOKD_ALLOWED_NETWORKS: "127.0.0.0/8",
      HOOKD_PROCESSES: String(count),
      // Node's default on Linux, said here: the tests count on connections being handed out in turn.
      NODE_CLUSTER_SCHED_POLICY: "rr",
      npm_lifecycle_event: "",
    },
    startTimeoutMs: START_MS,
  });
  running.push(hookd);
  // Ready once every process listens: connections reach only processes that listen, and one still starting
  // would be stopped by a signal's default action rather than by hookd.
  await untilListening(hookd, count, Math.max(deadline - Date.now(), 0));
  return hookd;
}

/** The number of each process whose log lines hold `text`, one per line. */
const processesSaying = (hookd: HookdProcess, text: string): number[] =>
  linesWith(hookd, text).map((line) => JSON.parse(line).process);

/** A request on a connection of its own (closed after), so the cluster hands each to a process in turn. */
async function onItsOwn(url: string, method: "GET" | "POST", body?: string, signal?: AbortSignal) {
  const response = await request(url, {
    method,
    body,
    signal,
    reset: true,
    headers: { authorization: `Bearer ${await adminToken()}`, "content-type": "text/plain" },
  });
  return { status: response.statusCode, text: await response.body.text() };
}

const figure = (metrics: string, line: string) =>
  Number(metrics.split("\n").find((l) => l.startsWith(`${line} `))?.slice(line.length + 1) ?? NaN);

function exitOf(hookd: HookdProcess): Promise<number | string | null> {
  const { child } = hookd;
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode ?? child.signalCode);
  return new Promise((done) => child.once("exit", (code, signal) => done(code ?? signal)));
}

/** False once `pid` has exited: one whose first process was killed is left a zombie until its new parent reaps it. */
function isAlive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

async function expectAllGone(hookd: HookdProcess, pids: number[]): Promise<void> {
  expect(await untilNoneNaming(hookd.dataDir)).toEqual([]);
  for (const pid of pids) expect(isAlive(pid), `process ${pid}`).toBe(false);
  await expect(fetch(`${hookd.url}/healthz`)).rejects.toThrow();
}

describe("HOOKD_PROCESSES=2", () => {
  it(
    "serves from two processes on one port, delivers what they accept, and /metrics adds up both",
    { timeout: START_MS + 60_000 },
    async () => {
      const hookd = await startProcesses(2);
      expect(forkedPids(hookd)).toHaveLength(2);
      // Each process's lines say which one wrote them.
      expect(processesSaying(hookd, LISTENING_LINE).sort()).toEqual([1, 2]);
      const target = encodeURIComponent(`${receiver.url}/processes`);
      const sent = 20;
      for (let i = 0; i < sent; i++) {
        expect((await onItsOwn(`${hookd.url}/dispatch?_url=${target}`, "POST", `n=${i}`)).status).toBe(202);
      }
      const arrived = await receiver.waitFor(sent);
      expect(new Set(arrived.map((r) => r.body.toString()))).toEqual(
        new Set(Array.from({ length: sent }, (_, i) => `n=${i}`)),
      );
      // Whichever process takes the scrape, it answers for both: alone, each would count only what it accepted.
      for (let scrape = 0; scrape < 4; scrape++) {
        const metrics = await onItsOwn(`${hookd.url}/metrics`, "GET");
        expect(metrics.status).toBe(200);
        expect(figure(metrics.text, "hookd_processes")).toBe(2);
        expect(figure(metrics.text, 'hookd_deliveries_accepted_total{source="dispatch"}')).toBe(sent);
        expect(figure(metrics.text, "hookd_nats_connected")).toBe(1);
      }
      // The signing secret is the same in both (agreed on through NATS): said once, by process 1.
      expect(processesSaying(hookd, '"signing_secret":')).toEqual([1]);
    },
  );

  it("a scrape that cannot have every process's metrics (one stuck) fails with 503, never part of the sum", {
    timeout: START_MS + 60_000,
  }, async () => {
    const hookd = await startProcesses(2);
    const [stuck] = forkedPids(hookd);
    process.kill(stuck!, "SIGSTOP");
    try {
      // In turn, each scrape reaches the other process (which cannot get the stuck one's metrics) or the stuck one.
      const scrape = () =>
        onItsOwn(`${hookd.url}/metrics`, "GET", undefined, AbortSignal.timeout(9_000)).catch(() => null);
      const answers = await Promise.all([scrape(), scrape()]);
      const answered = answers.filter((answer) => answer !== null);
      expect(answered.length).toBeGreaterThan(0);
      for (const answer of answered) {
        expect(answer.status).toBe(503);
        expect(JSON.parse(answer.text)).toMatchObject({
          type: "urn:hookd:problem:metrics-unavailable",
          detail: expect.stringMatching(/did not give its metrics within 5 s/),
        });
      }
    } finally {
      process.kill(stuck!, "SIGCONT");
    }
    const metrics = await onItsOwn(`${hookd.url}/metrics`, "GET");
    expect(metrics.status).toBe(200);
    expect(figure(metrics.text, "hookd_processes")).toBe(2);
  });

  it("a signal to hookd stops every process, and it exits 0; a made token key's admin token is said once", {
    timeout: START_MS + 60_000,
  }, async () => {
    const ownNats = await startNats();
    try {
      const hookd = await startProcesses(2, { key: false, natsUrl: ownNats.url });
      const pids = forkedPids(hookd);
      process.kill(hookd.child.pid!, "SIGTERM");
      expect(await exitOf(hookd)).toBe(0);
      // Its own token key, made once before the fork: one admin token, said once, by process 1.
      expect(processesSaying(hookd, '"admin_token":')).toEqual([1]);
      await expectAllGone(hookd, pids);
    } finally {
      await ownNats.stop();
    }
  });

  it(
    "the first process killed outright: each process stops itself as on a signal",
    { timeout: START_MS + 60_000 },
    async () => {
      const hookd = await startProcesses(2);
      const pids = forkedPids(hookd);
      process.kill(hookd.child.pid!, "SIGKILL");
      await expectAllGone(hookd, pids);
      expect(linesWith(hookd, '"reason":"the first hookd process has exited"')).toHaveLength(2);
    },
  );

  it.each(
    [
      { how: "stopped on purpose", signal: "SIGTERM", code: 0, says: "stopped" },
      { how: "killed", signal: "SIGKILL", code: 1, says: "ended \\(SIGKILL\\)" },
    ] as const,
  )("one process $how stops the others, and hookd exits $code saying which", {
    timeout: START_MS + 60_000,
  }, async ({ signal, code, says }) => {
    const hookd = await startProcesses(2);
    const pids = forkedPids(hookd);
    process.kill(pids[0]!, signal);
    expect(await exitOf(hookd)).toBe(code);
    expect(hookd.output()).toMatch(
      new RegExp(`hookd process [12] \\(pid ${pids[0]}\\) ${says}; stopping the other processes`),
    );
    await expectAllGone(hookd, pids);
  });
});

it("Deno refuses HOOKD_PROCESSES above 1 on one line, before starting anything", { timeout: 150_000 }, () => {
  // With NATS_URL, and without it (which Node would refuse for the missing NATS_URL): Deno's reason comes first.
  for (const natsUrl of [nats.url, ""]) {
    const run = spawnSync(DENO, ["run", "-A", "src/main.deno.ts"], {
      cwd: root,
      encoding: "utf8",
      env: { ...process.env, NATS_URL: natsUrl, HOOKD_KEY: TEST_KEY, HOOKD_PROCESSES: "2", HOOKD_PORT: "0" },
      // Deno compiles the whole app before it refuses: a cold cache on a busy machine takes a while.
      timeout: 60_000,
    });
    expect(run.error, "deno did not finish").toBeUndefined();
    expect(run.status).toBe(2);
    expect(run.stderr.trim()).toBe(
      "HOOKD_PROCESSES=2: Deno runs hookd as one process; run it under Node for several, or start more instances " +
        "(each on its own port)",
    );
  }
});
