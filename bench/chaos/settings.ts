/** The chaos run's size, from the environment so `npm run chaos` scales without edits; the test passes its own. */
export type ChaosSettings = {
  /** How long load runs, in seconds. */
  seconds: number;
  /** Seconds between disturbances (a SIGKILL of one instance, or the NATS restart). */
  killEverySeconds: number;
  /** SIGKILLs in the run; the NATS restart comes after half of them. Load runs until all are done, however long they take. */
  kills: number;
  /** Dispatching loops running at once (each waits for its answer before the next). */
  workers: number;
  /** How long to wait, after load stops, for every accepted delivery to arrive. */
  drainSeconds: number;
};

export function chaosSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): ChaosSettings {
  return {
    seconds: Number(env.CHAOS_SECONDS ?? 60),
    killEverySeconds: Number(env.CHAOS_KILL_EVERY ?? 6),
    kills: Number(env.CHAOS_KILLS ?? 8),
    workers: Number(env.CHAOS_WORKERS ?? 8),
    drainSeconds: Number(env.CHAOS_DRAIN_SECONDS ?? 90),
  };
}
