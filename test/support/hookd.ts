// deno-lint-ignore-file no-explicit-any -- tests read hookd's JSON answers field by field
import type { ServerType } from "@hono/node-server";
import { mkdtemp, rm } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../src/config.ts";
import { PathTokens } from "../../src/domain/path-tokens.ts";
import { createLogger, type Logger } from "../../src/log.ts";
import { type Hookd, startHookd } from "../../src/server.ts";
import { nodeOpenNativeStream, nodeUpgradeWebSocket, serveOnNode } from "../../src/serve-node.ts";
import { type HookdProcess, spawnHookd } from "./processes.ts";

/** hookd for tests, in this process or as a child process, always against the suite's real nats-server. */

export const TEST_KEY = "test-key-for-hookd-0123456789";
const tokens = new PathTokens(TEST_KEY);

export const tokenFor = (path: string) => tokens.tokenFor(path);
export const adminToken = () => tokens.tokenFor("/");

const BASE_ENV = {
  HOOKD_KEY: TEST_KEY,
  HOOKD_ALLOWED_NETWORKS: "127.0.0.0/8,::1/128",
  HOOKD_RETRY_SCHEDULE: "100ms,100ms,100ms",
  HOOKD_TIMEOUT: "2s",
  HOOKD_LOG_LEVEL: "silent",
  HOOKD_HOST: "127.0.0.1",
  HOOKD_PORT: "0",
};

export type TestHookd = { url: string; hookd: Hookd; stop(): Promise<void> };

/** `log` replaces the silent logger, for a test that reads what hookd logs. */
export async function startTestHookd(
  natsUrl: string,
  env: Record<string, string> = {},
  log?: Logger,
): Promise<TestHookd> {
  const dataDir = await mkdtemp(join(tmpdir(), "hookd-data-"));
  const config = loadConfig({ ...BASE_ENV, HOOKD_DATA_DIR: dataDir, NATS_URL: natsUrl, ...env });
  const hookd = await startHookd(config, log ?? createLogger(config.HOOKD_LOG_LEVEL), {
    upgradeWebSocket: nodeUpgradeWebSocket,
    openNativeStream: nodeOpenNativeStream,
  });
  const server: ServerType = await new Promise((resolve) => {
    const s = serveOnNode(hookd.app, { port: 0, hostname: "127.0.0.1" }, () => resolve(s));
  });
  const port = (server.address() as AddressInfo).port;
  let stopped: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    hookd,
    // Once, however often it is called: a suite stops the hookd a test may already have stopped.
    stop() {
      stopped ??= (async () => {
        // Open topic streams would keep server.close() waiting.
        await hookd.closeStreams();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await hookd.stop();
        await rm(dataDir, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}

/** hookd as its own process (npm start's command) with the test settings, for tests that kill it. */
export function spawnTestHookd(env: Record<string, string>): Promise<HookdProcess> {
  return spawnHookd({ env: { ...BASE_ENV, HOOKD_LOG_LEVEL: "info", ...env } });
}

/** Polls until `check` returns a value (not undefined/false) or the time is up. */
export async function eventually<T>(
  check: () => Promise<T | undefined | false>,
  timeoutMs = 20_000,
  what = "condition",
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value as T;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ""}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * The first page of GET /api/v1/deliveries?<query> once it lists every one of `ids`: the list follows
 * the journal a moment behind, through its index.
 */
export function waitForListed(
  base: string,
  query: string,
  ids: readonly string[],
  timeoutMs = 20_000,
): Promise<{ data: Record<string, any>[]; next_cursor: string | null }> {
  return eventually(
    async () => {
      const page = await (await api(base, `/api/v1/deliveries?${query}`)).json();
      return ids.every((id) => page.data.some((item: { id: string }) => item.id === id)) ? page : undefined;
    },
    timeoutMs,
    `${ids.length} deliveries to be listed by ?${query}`,
  );
}

/** fetch with the admin token. */
export async function api(base: string, path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (!headers.has("authorization")) headers.set("authorization", `Bearer ${await adminToken()}`);
  return fetch(base + path, { ...init, headers });
}

/** One unlabelled figure from hookd's /metrics; NaN when it is not there. */
export async function metricOf(base: string, name: string): Promise<number> {
  const text = await (await api(base, "/metrics")).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(" ")[1]) : NaN;
}

export async function deliveryOf(base: string, id: string): Promise<Record<string, any>> {
  const response = await api(base, `/api/v1/deliveries/${id}`);
  if (!response.ok) throw new Error(`GET delivery ${id}: ${response.status}`);
  return (await response.json()) as Record<string, any>;
}

export async function waitForState(
  base: string,
  id: string,
  state: string,
  timeoutMs = 20_000,
): Promise<Record<string, any>> {
  return eventually(
    async () => {
      const view = await deliveryOf(base, id);
      return view.state === state ? view : undefined;
    },
    timeoutMs,
    `${id} to be ${state}`,
  );
}
