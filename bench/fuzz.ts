import { fuzzFailures, fuzzTable } from "./fuzz/report.ts";
import { runFuzz } from "./fuzz/run.ts";

/**
 * bench/fuzz: hostile requests over raw sockets and fetch at one hookd, loopback only. Prints counts
 * by status; exits 1 on a 5xx, a forbidden target accepted, a crash or an unhealthy hookd after.
 * FUZZ_REQUESTS (20000), FUZZ_SEED (1; the same seed repeats a run), FUZZ_CONCURRENCY (16).
 */
const settings = {
  requests: Number(process.env.FUZZ_REQUESTS ?? 20_000),
  seed: Number(process.env.FUZZ_SEED ?? 1),
  concurrency: Number(process.env.FUZZ_CONCURRENCY ?? 16),
};
console.log(`fuzz: ${JSON.stringify(settings)}`);
const started = Date.now();
const figures = await runFuzz(settings);
console.log(fuzzTable(figures));
console.log(`  took ${((Date.now() - started) / 1000).toFixed(1)} s`);
const failures = fuzzFailures(figures);
for (const failure of failures) console.error(`FAIL: ${failure}`);
process.exit(failures.length ? 1 : 0);
