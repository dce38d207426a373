import { describe, expect, it } from "vitest";
import { fuzzFailures, fuzzTable } from "../bench/fuzz/report.ts";
import { runFuzz } from "../bench/fuzz/run.ts";

// The short version of `npm run fuzz` (bench/fuzz.ts): fails on a 5xx, a forbidden target accepted or a crash, never on a timing.
describe("fuzz, short", () => {
  it(
    "1,500 hostile requests over raw sockets and fetch: no 5xx, no forbidden target accepted, healthy after",
    async () => {
      const figures = await runFuzz({ requests: 1_500, seed: 1, concurrency: 16 });
      console.log(fuzzTable(figures));
      expect(fuzzFailures(figures)).toEqual([]);
    },
    120_000,
  );
});
