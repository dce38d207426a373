import { Agent, request } from "undici";
import { DELIVERY_ID_PREFIX, ulidTime } from "../../src/domain/ids.ts";
import { type Child, spawnReady } from "../../test/support/processes.ts";
import { fmt, percentile, sleep } from "../support/figures.ts";
import { cpuMsOf, startHttpFloor, untilArrived } from "../support/processes.ts";
import { cpuSplit, untilNatsQuiet } from "../support/nats-traffic.ts";
import { coresBusy, phaseCost } from "../support/phase-cost.ts";
import { SECONDS, WARMUP_SECONDS } from "./phase-seconds.ts";
import { deleteFloorStreams, journalStreamOf } from "./floor-work.ts";

/**
 * bench/dispatch's latency phases: accept → delivered in an open loop at a rate, for hookd and for the
 * two floors under it (bench/dispatch/latency-floor.ts, plain and journaling), with what each dispatch
 * cost, and the HTTP stack's own CPU per request at that rate.
 */

/** Where bench/dispatch prints a figure (and keeps it for its summary). */
export type Report = (name: string, value: string) => void;

async function arrivalsOf(receiverUrl: string): Promise<Record<string, number>> {
  return ((await (await fetch(`${receiverUrl}/__stats?arrivals`)).json()) as { arrivals: Record<string, number> })
    .arrivals;
}

/**
 * `total` POSTs to `url` through `load.agent`, `rate` a second whatever the answers take (an open loop),
 * each body tagged with `load.tag` and its number; `answered` sees each answer's status and JSON.
 * Resolves to how far behind its schedule the loop sent: a generator held off a core sends what it
 * owes at once, and the burst shows in the latencies it measures.
 */
async function openLoop(
  url: string,
  rate: number,
  total: number,
  load: { tag: string; headers: Record<string, string>; agent: Agent },
  answered: (status: number, json: { id?: string }) => void = () => undefined,
): Promise<{ maxLateMs: number; lateOver5Ms: number }> {
  const loadStart = performance.now();
  const inflight: Promise<void>[] = [];
  let maxLateMs = 0;
  let lateOver5Ms = 0;
  for (let i = 0; i < total; i++) {
    const due = loadStart + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    const late = performance.now() - due;
    maxLateMs = Math.max(maxLateMs, late);
    if (late > 5) lateOver5Ms++;
    inflight.push(
      request(url, { method: "POST", body: `n=${load.tag}_${i}`, headers: load.headers, dispatcher: load.agent })
        .then(async (response) => {
          // Only an acceptance is read as JSON: a refusal (a floor that could not store) counts, and is not read.
          if (response.statusCode !== 202) {
            await response.body.dump();
            return answered(response.statusCode, {});
          }
          answered(response.statusCode, (await response.body.json()) as { id?: string });
        }),
    );
  }
  await Promise.all(inflight);
  return { maxLateMs, lateOver5Ms };
}

/** What accepts dispatches in a latency phase: hookd, or one of the floors under it (bench/dispatch/latency-floor.ts). */
export type LatencyTarget = {
  name: string;
  server: Child & { url: string };
  receiverUrl: string;
  target: string;
  headers: Record<string, string>;
  nats: { pid: number };
  monitorPort: number;
};

/**
 * Accept → delivered at `rate` offered: WARMUP_SECONDS of it first, not counted, then SECONDS measured
 * on the same connections, with what those cost (each accepted dispatch's CPU and NATS messages, the
 * machine's busy cores). The accept time is the server's own: a delivery id is a ULID whose time part
 * is when it was accepted; the webhook-id names it on arrival.
 */
async function measureLatency(on: LatencyTarget, rate: number) {
  // What runs behind the phase before (the new instance's indexer finishing its read) stays out of the cost.
  if (!(await untilNatsQuiet(on.monitorPort, 2 * 60_000))) console.log("  (NATS was still busy after 2 minutes)");
  await fetch(`${on.receiverUrl}/__reset`, { method: "POST" });
  const url = `${on.server.url}/dispatch?_url=${on.target}`;
  const agent = new Agent({ connections: 64 });
  let warmed = 0;
  const ids: string[] = [];
  try {
    await openLoop(url, rate, rate * WARMUP_SECONDS, { tag: `w${rate}`, headers: on.headers, agent }, (status) => {
      if (status === 202) warmed++;
    });
    const pids = { [on.name]: on.server.child.pid!, "nats-server": on.nats.pid };
    const cost = await phaseCost(pids, on.monitorPort, async () => {
      const lag = await openLoop(url, rate, rate * SECONDS, { tag: `r${rate}`, headers: on.headers, agent }, (
        status,
        json,
      ) => {
        if (status === 202 && json.id) ids.push(json.id);
      });
      // Only what was accepted arrives; one refused must not leave the phase waiting (and its CPU idle).
      const arrived = await untilArrived(on.receiverUrl, warmed + ids.length, 30_000);
      if (arrived.count < warmed + ids.length) console.log("  (not every accepted dispatch arrived within 30 s)");
      return lag;
    }, [on.name]);
    const arrivals = await arrivalsOf(on.receiverUrl);
    const latencies = ids
      .map((id) => (arrivals[id] ?? NaN) - ulidTime(id.slice(DELIVERY_ID_PREFIX.length)))
      .filter((ms) => !Number.isNaN(ms))
      .sort((a, b) => a - b);
    return { latencies, cost, accepted: ids.length };
  } finally {
    await agent.close();
  }
}

/** "p50 1.0 ms, p99 12.0 ms, max 41.0 ms (10,000 measured)". */
function latencyLine(latencies: number[]): string {
  return `p50 ${percentile(latencies, 0.5).toFixed(1)} ms, p99 ${percentile(latencies, 0.99).toFixed(1)} ms, max ${
    latencies.at(-1)?.toFixed(1)
  } ms (${fmt(latencies.length)} measured)`;
}

/** CPU and NATS messages per accepted dispatch, the cores busy, and how far the load generator fell behind. */
function latencyCostLine(measured: Awaited<ReturnType<typeof measureLatency>>): string {
  const { cost, accepted } = measured;
  const perDelivery = Object.fromEntries(Object.entries(cost.cpuMs).map(([name, ms]) => [name, ms / accepted]));
  return `CPU per delivery ${cpuSplit(perDelivery)}; NATS messages per delivery ${
    ((cost.traffic.inMsgs + cost.traffic.outMsgs) / accepted).toFixed(1)
  }; ${coresBusy(cost)}; the load generator sent ${fmt(cost.result.lateOver5Ms)} dispatches over 5 ms late (at most ${
    cost.result.maxLateMs.toFixed(0)
  } ms)`;
}

/** The two floors under hookd's latency: the plain one, and the one that also journals each job. */
export type LatencyFloors = { plain: LatencyTarget; journaling: LatencyTarget };

/**
 * The latency figure at `rate`, then what its deliveries cost; the same for the two floors under it
 * (the least a broker that stores each dispatch before its 202 does, and that plus a journal append
 * per delivery as hookd makes; same receiver, same load), and the HTTP stack's own CPU per request at
 * that rate. They are measured in one order at an even `order` and in the reverse order at an odd one,
 * so that across the two rates each pair is measured both ways round and no one of them is always measured
 * on the fresher machine. Latencies are in whole milliseconds (a ULID's time against the receiver's
 * clock), so the ratio of two p99s of a few milliseconds is printed to one figure.
 */
export async function latencyFigures(
  hookd: LatencyTarget,
  floors: LatencyFloors,
  rate: number,
  order: number,
  report: Report,
): Promise<void> {
  const targets = [hookd, floors.plain, floors.journaling];
  const sequence = order % 2 === 0 ? targets : [...targets].reverse();
  const measured = new Map<LatencyTarget, Awaited<ReturnType<typeof measureLatency>>>();
  for (const target of sequence) measured.set(target, await measureLatency(target, rate));
  const ofHookd = measured.get(hookd)!;

  report(
    `accept → delivered at ${fmt(rate)}/s offered for ${SECONDS}s after ${WARMUP_SECONDS}s warm-up (signed)`,
    `${latencyLine(ofHookd.latencies)}; measured in the order ${sequence.map((target) => target.name).join(", ")}`,
  );
  // Dispatches accepted and delivered as they come, a batch of one or two (the drain's batches hold hundreds).
  report(`cost at ${fmt(rate)}/s after the warm-up, accept and delivery`, latencyCostLine(ofHookd));
  const p99 = (latencies: number[]) => percentile(latencies, 0.99);
  const floorLines = [
    [floors.plain, "one stored message per dispatch, pulled and POSTed signed, nothing journaled"],
    [
      floors.journaling,
      "the same, and a journal append per delivery on a subject of its own, in the shape of hookd's journal",
    ],
  ] as const;
  for (const [floor, what] of floorLines) {
    const ofFloor = measured.get(floor)!;
    report(
      `${floor.name} at ${fmt(rate)}/s: ${what}`,
      `${latencyLine(ofFloor.latencies)}; hookd's p99 / this floor's ≈ ${
        // One significant figure, as a number ("5", "10", "0.8"), not toPrecision's "1e+1".
        Number((p99(ofHookd.latencies) / p99(ofFloor.latencies)).toPrecision(1))}`,
    );
    report(`${floor.name} cost at ${fmt(rate)}/s`, latencyCostLine(ofFloor));
  }
  report(
    `the HTTP stack alone at ${fmt(rate)}/s`,
    `${(await httpStackCostAt(rate)).toFixed(2)} ms CPU per request`,
  );
}

/**
 * CPU ms per request of hookd's HTTP stack with nothing behind it (bench/http-floor.ts) at `rate`, in
 * an open loop as latency is measured, after the same warm-up: on a virtual machine, a request that
 * arrives at an idle process costs far more than one that arrives at a busy one (waking it up), so
 * this says what one exchange between two processes costs at that rate, beside what a delivery costs.
 */
async function httpStackCostAt(rate: number): Promise<number> {
  const floor = await startHttpFloor();
  const load = { tag: "floor", headers: { "content-type": "text/plain" }, agent: new Agent({ connections: 64 }) };
  try {
    await openLoop(`${floor.url}/dispatch?_url=x`, rate, rate * WARMUP_SECONDS, load);
    const before = await cpuMsOf(floor.child.pid!);
    await openLoop(`${floor.url}/dispatch?_url=x`, rate, rate * SECONDS, load);
    return ((await cpuMsOf(floor.child.pid!)) - before) / (rate * SECONDS);
  } finally {
    await load.agent.close();
    await floor.stop();
  }
}

let latencyFloors = 0;

/**
 * bench/dispatch/latency-floor.ts on the bench's nats-server: hookd's HTTP stack, one stored message
 * per dispatch, and a worker in the same process that journals each job when `journal` says so;
 * resolves once it listens. Its stop also deletes its streams, should the process have died before
 * it could.
 */
export async function startLatencyFloor(
  nats: { url: string },
  concurrency: number,
  journal: boolean,
): Promise<Child & { url: string }> {
  const stream = `BENCH_LATENCY_${process.pid}_${++latencyFloors}`;
  const { ready: port, ...floor } = await spawnReady({
    what: "bench/dispatch/latency-floor.ts",
    command: [process.execPath, "--import", "tsx", "bench/dispatch/latency-floor.ts"],
    env: { NATS_URL: nats.url, STREAM: stream, CONCURRENCY: String(concurrency), JOURNAL: journal ? "on" : "off" },
    stderr: "inherit",
    ready: (line) => (/^\d+$/.test(line) ? line : undefined),
  });
  return {
    ...floor,
    url: `http://127.0.0.1:${port}`,
    async stop(graceMs) {
      await floor.stop(graceMs);
      await deleteFloorStreams(nats.url, journal ? [stream, journalStreamOf(stream)] : [stream]);
    },
  };
}
