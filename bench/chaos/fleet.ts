import { type HookdProcess, spawnHookd } from "../../test/support/processes.ts";
import { BENCH_KEY } from "../support/processes.ts";

/**
 * The two hookd instances of a chaos run, as child processes on one nats-server. `kill` SIGKILLs one
 * and `revive` starts a fresh one in its slot; an instance that exits any other way is a crash.
 */
export type Fleet = {
  /** The slots' current URLs; undefined while a slot's instance is down. */
  urls(): (string | undefined)[];
  kill(slot: number): Promise<void>;
  revive(slot: number): Promise<void>;
  /** Exits nobody asked for, with what the instance wrote last. */
  crashes: string[];
  stop(): Promise<void>;
};

const ENV = {
  HOOKD_KEY: BENCH_KEY,
  HOOKD_PORT: "0",
  HOOKD_HOST: "127.0.0.1",
  HOOKD_ALLOWED_NETWORKS: "127.0.0.0/8",
  // Short, so a delivery cut by a kill is retried within the run rather than minutes later.
  HOOKD_RETRY_SCHEDULE: "200ms,500ms,1s,2s,5s,10s",
  HOOKD_TIMEOUT: "2s",
  // info: spawnHookd waits for the "hookd is listening" line.
  HOOKD_LOG_LEVEL: "info",
};

/** `natsUrl` is every slot's, or each slot's own (cluster runs put the instances on different nodes); `env` is added. */
export function startFleet(natsUrl: string | ((slot: number) => string), env: Record<string, string> = {}): Fleet {
  const slots: (HookdProcess | undefined)[] = [undefined, undefined];
  const killing = new Set<HookdProcess>();
  const crashes: string[] = [];
  let started = 0;
  let stopping = false;
  const fleet: Fleet = {
    urls: () => slots.map((slot) => slot?.url),
    crashes,
    async kill(slot) {
      const instance = slots[slot];
      if (!instance) return;
      slots[slot] = undefined;
      killing.add(instance);
      await instance.kill("SIGKILL");
    },
    async revive(slot) {
      const instance = await spawnHookd({
        env: {
          ...ENV,
          ...env,
          NATS_URL: typeof natsUrl === "string" ? natsUrl : natsUrl(slot),
          HOOKD_INSTANCE_ID: `chaos-${started++}`,
        },
      });
      instance.child.once("exit", (code, signal) => {
        if (stopping || killing.has(instance)) return;
        crashes.push(`instance exited (${code ?? signal}):\n${instance.output().slice(-2_000)}`);
        if (slots[slot] === instance) slots[slot] = undefined;
      });
      slots[slot] = instance;
    },
    async stop() {
      stopping = true;
      await Promise.all(slots.map((instance) => instance?.stop()));
    },
  };
  return fleet;
}
