import { type HookdProcess, spawnHookd } from "../../test/support/processes.ts";
import { BENCH_KEY } from "../support/processes.ts";

/** The hookd a fuzz run aims at, as a child process; `crashed` says how it ended if nobody stopped it. */
export type FuzzTarget = HookdProcess & { crashed(): string | undefined };

export async function startFuzzTarget(natsUrl: string): Promise<FuzzTarget> {
  const hookd = await spawnHookd({
    env: {
      NATS_URL: natsUrl,
      HOOKD_KEY: BENCH_KEY,
      HOOKD_PORT: "0",
      HOOKD_HOST: "127.0.0.1",
      // Loopback only: every other address in a fuzzed target must be refused at ingest.
      HOOKD_ALLOWED_NETWORKS: "127.0.0.0/8",
      HOOKD_RETRY_SCHEDULE: "100ms",
      HOOKD_TIMEOUT: "1s",
      HOOKD_LOG_LEVEL: "info",
    },
  });
  let stopping = false;
  let crashed: string | undefined;
  hookd.child.once("exit", (code, signal) => {
    if (!stopping) crashed = `hookd exited (${code ?? signal}):\n${hookd.output().slice(-2_000)}`;
  });
  return {
    ...hookd,
    crashed: () => crashed,
    stop: (graceMs) => {
      stopping = true;
      return hookd.stop(graceMs);
    },
  };
}
