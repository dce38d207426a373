import { spawn } from "node:child_process";
import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, startNats } from "../test/support/processes.ts";
import { acceptBacklog } from "./support/backlog.ts";
import { fmt, sleep } from "./support/figures.ts";
import {
  benchTokens as tokens,
  cpuMsOf,
  receiverStats,
  startHookd,
  startReceiver,
  untilArrived,
} from "./support/processes.ts";
import { cpuSplit, natsTrafficOf, steadyDrainCost, trafficPer, untilNatsQuiet } from "./support/nats-traffic.ts";

/**
 * bench/drain-cost: what one plain successful delivery costs, in figures that do not depend on the
 * machine's speed: NATS messages in and out per delivery (the server's /varz counters, every client
 * included) and hookd CPU ms per delivery, over the drain of a backlog of BENCH_DRAIN (default
 * 10,000) dispatches by one instance: over the steady part of the drain (from 10% to 90% arrived, the
 * figure to compare), and from hookd's start until NATS is quiet again (the indexer's work counts too;
 * CPU spent before hookd says it is ready is left out, so this one moves with how fast it starts).
 * nats-server's CPU per delivery is printed beside hookd's (marked when BENCH_TRACE has it log
 * every message). Also prints the drain rate, which does depend on the machine (and on what else
 * runs on it). BENCH_INSTANCES (default 1) drains with that many instances on the one NATS, as a
 * worker process beside the first would: their CPU is summed as hookd's.
 */

const DRAIN = Number(process.env.BENCH_DRAIN ?? 10_000);
const INSTANCES = Number(process.env.BENCH_INSTANCES ?? 1);
if (!Number.isInteger(INSTANCES) || INSTANCES < 1) throw new Error("BENCH_INSTANCES must be a whole number, 1 or more");

/** nats-server with tracing into `logFile` (the harness's launcher reads the log for readiness, so this one is separate). */
async function startTracingNats(monitorPort: number, logFile: string) {
  const dir = await mkdtemp(join(tmpdir(), "hookd-trace-"));
  const port = await freePort();
  const config = join(dir, "nats.conf");
  await writeFile(
    config,
    [
      `listen: 127.0.0.1:${port}`,
      `http: 127.0.0.1:${monitorPort}`,
      `jetstream { store_dir: ${JSON.stringify(join(dir, "js"))} }`,
      "trace: true",
      `log_file: ${JSON.stringify(logFile)}`,
    ].join("\n"),
  );
  const child = spawn("nats-server", ["-c", config], { stdio: "ignore" });
  // A bench stops by itself: a server that never serves its monitor port (a port taken, a bad config) ends it.
  for (const giveUpAt = Date.now() + 30_000; !(await natsTrafficOf(monitorPort).then(() => true, () => false));) {
    if (Date.now() > giveUpAt || child.exitCode !== null) {
      child.kill("SIGKILL");
      throw new Error(`the tracing nats-server did not serve its monitor port within 30 s (see ${logFile})`);
    }
    await sleep(100);
  }
  return {
    url: `nats://127.0.0.1:${port}`,
    pid: child.pid!,
    async stop() {
      child.kill("SIGTERM");
      await new Promise((resolve) => child.once("exit", resolve));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function main() {
  const monitorPort = await freePort();
  // BENCH_TRACE=<file>: a server of this script's own logs every message it takes and hands out there (slow; for a small drain).
  const trace = process.env.BENCH_TRACE;
  const nats = trace ? await startTracingNats(monitorPort, trace) : await startNats({ monitorPort });
  const natsName = trace ? "nats-server (tracing)" : "nats-server";
  const receiver = await startReceiver(200);
  const token = await tokens.tokenFor("/dispatch");
  try {
    const ingest = await startHookd(nats.url, { HOOKD_WORKERS: "off" });
    const accepted = await acceptBacklog({ hookdUrl: ingest.url, target: `${receiver.url}/hook`, token, count: DRAIN });
    await ingest.stop();
    await sleep(1_000);

    const before = await natsTrafficOf(monitorPort);
    if (trace) console.log(`  trace: the drain starts at byte ${(await stat(trace)).size} of ${trace}`);
    // BENCH_CPU_PROF=<dir>: each draining instance writes a V8 CPU profile there when it stops.
    const profile = process.env.BENCH_CPU_PROF;
    // Started together: one ready before the others would drain part of the backlog alone.
    const workers = await Promise.all(
      Array.from({ length: INSTANCES }, () =>
        startHookd(
          nats.url,
          { HOOKD_CONCURRENCY: "256" },
          profile ? ["--cpu-prof", `--cpu-prof-dir=${profile}`] : [],
        )),
    );
    const hookdCpuMs = async () =>
      (await Promise.all(workers.map((worker) => cpuMsOf(worker.child.pid!)))).reduce((sum, ms) => sum + ms, 0);
    const cpuAtStart = await hookdCpuMs();
    const trafficAtStart = await natsTrafficOf(monitorPort);
    // Only what was accepted can arrive: a refused dispatch must not leave the bench waiting forever.
    if (accepted < DRAIN) {
      console.log(`  ${DRAIN - accepted} dispatches were refused; draining the ${accepted} accepted`);
    }
    const steady = await steadyDrainCost(accepted, async () => ({
      delivered: (await receiverStats(receiver.url)).count,
      // With BENCH_TRACE, nats-server also writes every protocol line to the log: its figure says so.
      cpuMs: { hookd: await hookdCpuMs(), [natsName]: await cpuMsOf(nats.pid) },
      traffic: await natsTrafficOf(monitorPort),
    }));
    const stats = await untilArrived(receiver.url, accepted);
    const cpuAtDrained = await hookdCpuMs();
    // The indexer (and anything else behind the deliveries) finishes its share: wait for NATS to go quiet.
    await untilNatsQuiet(monitorPort, 5 * 60_000);
    const cpuAtQuiet = await hookdCpuMs();
    const after = await natsTrafficOf(monitorPort);
    for (const worker of workers) await worker.stop();
    const rate = stats.count / ((stats.last! - stats.first!) / 1000);
    const whole = trafficPer(before, after, accepted);
    const startup = trafficPer(before, trafficAtStart, accepted);
    const by = INSTANCES === 1 ? "one instance" : `${INSTANCES} instances`;
    console.log(`drain of ${fmt(accepted)} deliveries by ${by} (HOOKD_CONCURRENCY 256 each)`);
    console.log(`  delivered/s: ${fmt(rate)}`);
    console.log(
      `  NATS msgs per delivery: in ${whole.inMsgs.toFixed(2)}, out ${whole.outMsgs.toFixed(2)}, total ${
        (whole.inMsgs + whole.outMsgs).toFixed(2)
      } (of which hookd's start ${(startup.inMsgs + startup.outMsgs).toFixed(2)})`,
    );
    console.log(
      `  steady drain (10% to 90% arrived): NATS msgs per delivery in ${steady.inMsgs.toFixed(2)}, out ${
        steady.outMsgs.toFixed(2)
      }, total ${(steady.inMsgs + steady.outMsgs).toFixed(2)}; CPU per delivery ${cpuSplit(steady.cpuMs)}`,
    );
    console.log(
      `  hookd CPU ms per delivery: ${((cpuAtDrained - cpuAtStart) / DRAIN).toFixed(3)} to the last arrival, ${
        ((cpuAtQuiet - cpuAtStart) / DRAIN).toFixed(3)
      } until NATS was quiet`,
    );
  } finally {
    await receiver.stop();
    await nats.stop();
  }
}

await main();
process.exit(0);
