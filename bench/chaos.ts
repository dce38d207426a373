import { runChaos } from "./chaos/run.ts";
import { chaosSettingsFromEnv } from "./chaos/settings.ts";
import { chaosFailures, chaosTable } from "./chaos/report.ts";

/**
 * bench/chaos: two hookd instances on one nats-server, one SIGKILLed and restarted every few seconds
 * under load, the nats-server restarted once. Prints figures; exits 1 on a loss, a 5xx or a crash.
 * Scale with CHAOS_SECONDS (60), CHAOS_KILL_EVERY (6), CHAOS_KILLS (8), CHAOS_WORKERS (8), CHAOS_DRAIN_SECONDS (90).
 */
const settings = chaosSettingsFromEnv();
console.log(`chaos: ${JSON.stringify(settings)}`);
const figures = await runChaos(settings, (line) => console.log(`  ${line}`));
console.log(chaosTable(figures));
const failures = chaosFailures(figures);
for (const failure of failures) console.error(`FAIL: ${failure}`);
process.exit(failures.length ? 1 : 0);
