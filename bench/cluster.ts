import { Agent, request } from "undici";
import { type Child, startNats } from "../test/support/processes.ts";
import { startNatsCluster } from "../test/support/nats-cluster.ts";
import { runClusterChaos } from "./cluster/run.ts";
import { fmt, sleep } from "./support/figures.ts";
import { benchTokens as tokens, receiverStats, startHookd, startReceiver } from "./support/processes.ts";

/**
 * bench/cluster: hookd's ingest and delivery figures on one nats-server with one replica (R1)
 * beside a three-node cluster with three (R3, HOOKD_REPLICAS=3), in one run, with the ratio
 * R3/R1; then the longest gap in 202s when the node leading the ingest stream is SIGKILLed under
 * load and comes back with an empty store. Every process shares this machine, so the ratio is
 * what the figures say, not their size. Prints figures; asserts nothing. BENCH_SECONDS (default
 * 10) sets each ingest phase, BENCH_ROUNDS (default 2) how often R1 and R3 are measured in turn,
 * BENCH_DRAIN (default 20,000) how much of each backlog the delivery figure waits for.
 */

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = 64;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const DRAIN_COUNT = Number(process.env.BENCH_DRAIN ?? 20_000);
const DRAIN_LIMIT_S = 120;

type Figures = { ingestPerSecond: number; accepted: number; deliveryPerSecond: number; non202: number };

/** Closed-loop dispatches at CONNECTIONS in flight for SECONDS, to an instance with workers off. */
async function ingest(url: string, target: string, token: string): Promise<{ accepted: number; non202: number }> {
  const agent = new Agent({ connections: CONNECTIONS });
  const deadline = performance.now() + SECONDS * 1000;
  let accepted = 0;
  let non202 = 0;
  await Promise.all(Array.from({ length: CONNECTIONS }, async () => {
    while (performance.now() < deadline) {
      const response = await request(`${url}/dispatch?_url=${target}`, {
        method: "POST",
        body: "n=bench",
        headers: { authorization: `Bearer ${token}`, "content-type": "text/plain" },
        dispatcher: agent,
      });
      await response.body.dump();
      if (response.statusCode === 202) accepted++;
      else non202++;
    }
  }));
  await agent.close();
  return { accepted, non202 };
}

const count = async (receiverUrl: string) => (await receiverStats(receiverUrl)).count;

/**
 * Ingest with workers off, then a worker instance works the backlog: from its first arrival until
 * DRAIN_COUNT (or all accepted) have arrived, at most DRAIN_LIMIT_S; deliveries per second over that.
 */
async function measure(natsUrl: string, env: Record<string, string>, children: Child[]): Promise<Figures> {
  const receiver = await startReceiver(200);
  children.push(receiver);
  const token = await tokens.tokenFor("/dispatch");
  const target = encodeURIComponent(`${receiver.url}/hook`);
  const api = await startHookd(natsUrl, { ...env, HOOKD_WORKERS: "off" });
  children.push(api);
  const { accepted, non202 } = await ingest(api.url, target, token);
  await api.stop();
  const workers = await startHookd(natsUrl, { ...env, HOOKD_CONCURRENCY: "256" });
  children.push(workers);
  while ((await count(receiver.url)) === 0) await sleep(20);
  const first = await count(receiver.url);
  const windowStart = performance.now();
  const goal = Math.min(accepted, DRAIN_COUNT);
  let last = first;
  while (last < goal && performance.now() - windowStart < DRAIN_LIMIT_S * 1000) {
    await sleep(100);
    last = await count(receiver.url);
  }
  const windowSeconds = (performance.now() - windowStart) / 1000;
  await workers.stop();
  await receiver.stop();
  return { ingestPerSecond: accepted / SECONDS, accepted, deliveryPerSecond: (last - first) / windowSeconds, non202 };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)]!;

function row(name: string, r1: number, r3: number): string {
  return `| ${name} | ${fmt(r1)}/s | ${fmt(r3)}/s | ${(r3 / r1).toFixed(2)} |`;
}

/** One round: R1 on a fresh nats-server, then R3 on a fresh cluster; rounds alternate so both see the same machine. */
async function round(n: number): Promise<{ r1: Figures; r3: Figures }> {
  const children: Child[] = [];
  const single = await startNats();
  let r1: Figures;
  try {
    r1 = await measure(single.url, {}, children);
  } finally {
    for (const child of children.splice(0)) await child.stop();
    await single.stop();
  }
  console.log(`round ${n}, R1 (one nats-server): ${fmt(r1.ingestPerSecond)}/s in, ${fmt(r1.deliveryPerSecond)}/s out`);
  const cluster = await startNatsCluster();
  let r3: Figures;
  try {
    r3 = await measure(cluster.nodes[0]!.url, { HOOKD_REPLICAS: "3" }, children);
  } finally {
    for (const child of children.splice(0)) await child.stop();
    await cluster.stop();
  }
  console.log(`round ${n}, R3 (three nodes): ${fmt(r3.ingestPerSecond)}/s in, ${fmt(r3.deliveryPerSecond)}/s out`);
  return { r1, r3 };
}

async function main() {
  console.log(
    `hookd bench/cluster: ${ROUNDS} rounds of R1 then R3, ${SECONDS}s ingest phases at ${CONNECTIONS} connections, ` +
      `delivery of up to ${fmt(DRAIN_COUNT)}; every process on this machine\n`,
  );
  const rounds: { r1: Figures; r3: Figures }[] = [];
  for (let n = 1; n <= ROUNDS; n++) rounds.push(await round(n));
  const death = await runClusterChaos(
    "node-death",
    {
      workers: 8,
      warmSeconds: SECONDS / 2,
      downSeconds: 6,
      afterSeconds: SECONDS / 2,
      drainSeconds: 120,
      loseStore: true,
    },
    (line) => console.log(`  ${line}`),
  );
  const ingestIn = (key: "r1" | "r3") => median(rounds.map((r) => r[key].ingestPerSecond));
  const deliveryOut = (key: "r1" | "r3") => median(rounds.map((r) => r[key].deliveryPerSecond));
  console.log(`\nsummary (medians of ${ROUNDS} rounds)`);
  console.log("| figure | R1, one node | R3, three nodes | R3/R1 |");
  console.log("|---|---|---|---|");
  console.log(
    row(`ingest: dispatches accepted (workers off, ${CONNECTIONS} connections)`, ingestIn("r1"), ingestIn("r3")),
  );
  console.log(row("delivery: backlog worked to one receiver (one instance)", deliveryOut("r1"), deliveryOut("r3")));
  console.log(
    `\nnode death (${death.events.join("; ")}): longest gap without a 202 ${
      fmt(death.load.longestGapMs / 1000, 1)
    } s; ` +
      `${fmt(death.load.accepted.size)} accepted, ${fmt(death.lost)} lost, ${
        fmt(death.load.unavailable)
      } answered 503 ` +
      `+ Retry-After, ${fmt(death.load.serverErrors)} other 5xx, ${fmt(death.load.noAnswer)} unanswered`,
  );
}

await main();
process.exit(0);
