import { describe, expect, it } from "vitest";
import { chaosFailures, chaosTable } from "../bench/chaos/report.ts";
import { runChaos } from "../bench/chaos/run.ts";

// The short version (load runs until 2 kills and the NATS restart are done) of `npm run chaos` (bench/chaos.ts): fails on a loss, a 5xx or a crash, never on a timing.
describe("chaos, short", () => {
  it(
    "two instances, SIGKILLs and a NATS restart under load: every accepted delivery arrives, no 5xx, no crash",
    async () => {
      const figures = await runChaos({ seconds: 8, killEverySeconds: 2.5, kills: 2, workers: 4, drainSeconds: 60 });
      console.log(chaosTable(figures));
      expect(chaosFailures(figures)).toEqual([]);
      expect(figures.kills).toBe(2);
      expect(figures.natsRestarts).toBe(1);
    },
    150_000,
  );
});
