import { freePort, startNats } from "../../test/support/processes.ts";
import { benchTokens, memoryOf } from "../support/processes.ts";
import { fetchCase } from "./fetch-cases.ts";
import { seededRng } from "./prng.ts";
import { rawCase } from "./raw-cases.ts";
import { rawSend } from "./raw-send.ts";
import { startFuzzTarget } from "./target-hookd.ts";

/**
 * A fuzz run: `requests` hostile requests (half raw-socket, half fetch) at one hookd child process,
 * `concurrency` at a time, from a seeded PRNG; then /healthz and the RSS growth.
 */
export type FuzzSettings = { requests: number; seed: number; concurrency: number };

export type FuzzFigures = {
  byStatus: Map<string, number>;
  serverErrors: string[];
  /** Forbidden (non-loopback) targets hookd accepted: must be none. */
  acceptedForbidden: string[];
  crashed: string | undefined;
  healthz: number;
  rssBeforeMb: number;
  rssAfterMb: number;
  peakMb: number;
};

export async function runFuzz(settings: FuzzSettings): Promise<FuzzFigures> {
  const nats = await startNats();
  const hookd = await startFuzzTarget(nats.url).catch(async (error) => {
    await nats.stop();
    throw error;
  });
  try {
    const token = await benchTokens.tokenFor("/");
    const closedPort = await freePort();
    const port = Number(new URL(hookd.url).port);
    const figures = {
      byStatus: new Map<string, number>(),
      serverErrors: [] as string[],
      acceptedForbidden: [] as string[],
    };
    const before = await memoryOf(hookd.child.pid!);
    const rng = seededRng(settings.seed);
    let next = 0;
    const count = (status: string) => figures.byStatus.set(status, (figures.byStatus.get(status) ?? 0) + 1);
    const worker = async () => {
      while (next < settings.requests && hookd.crashed() === undefined) {
        const n = next++;
        if (n % 2 === 0) {
          const bytes = rawCase(rng, token);
          const status = await rawSend(port, bytes);
          count(`raw ${status}`);
          if (status.startsWith("5")) {
            figures.serverErrors.push(`raw #${n}: ${status} for ${bytes.subarray(0, 120).toString("latin1")}`);
          }
          continue;
        }
        const request = fetchCase(rng, token, closedPort);
        const status = await sendFetch(`${hookd.url}${request.path}`, request.init);
        count(`fetch ${status}`);
        const what = `${request.init.method} ${request.path.slice(0, 200)}`;
        if (status.startsWith("5")) figures.serverErrors.push(`fetch #${n}: ${status} for ${what}`);
        if (request.mustRefuse && status.startsWith("2")) figures.acceptedForbidden.push(`${status} for ${what}`);
      }
    };
    await Promise.all(Array.from({ length: settings.concurrency }, worker));
    const healthz = await fetch(`${hookd.url}/healthz`).then((r) => r.status, () => 0);
    const after = await memoryOf(hookd.child.pid!).catch(() => ({ rssMb: NaN, peakMb: NaN }));
    return {
      ...figures,
      crashed: hookd.crashed(),
      healthz,
      rssBeforeMb: before.rssMb,
      rssAfterMb: after.rssMb,
      peakMb: after.peakMb,
    };
  } finally {
    await hookd.stop();
    await nats.stop();
  }
}

/** The status as text, or "no answer"; the body is read only up to a point (SSE answers never end). */
async function sendFetch(url: string, init: RequestInit): Promise<string> {
  try {
    const response = await fetch(url, { ...init, redirect: "manual", signal: AbortSignal.timeout(10_000) });
    await response.body?.cancel().catch(() => undefined);
    return String(response.status);
  } catch {
    return "no answer";
  }
}
