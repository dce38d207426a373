import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import autocannon from "autocannon";
import { spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Agent, request } from "undici";
import { type Child, forkedPids, freePort, startNats, untilListening } from "../test/support/processes.ts";
import { fmt, percentile, sleep } from "./support/figures.ts";
import {
  benchTokens as tokens,
  cpuMsOf,
  memoryOf,
  receiverStats,
  startHookd,
  startHttpFloor,
  startReceiver,
} from "./support/processes.ts";
import { cpuSplit, streamReadersCaughtUp } from "./support/nats-traffic.ts";
import { coresBusy, phaseCost } from "./support/phase-cost.ts";
import { createLayout } from "../src/nats/layout.ts";
import { bullmqDrain, jetstreamFloorDrain } from "./dispatch/peer.ts";
import { latencyFigures, startLatencyFloor } from "./dispatch/latency.ts";
import { SECONDS } from "./dispatch/phase-seconds.ts";
import { hookdDrain, settleBacklog } from "./dispatch/hookd-drain.ts";
import {
  alternatingRounds,
  cpuPerJob,
  type Drain,
  ratioLine,
  type Round,
  roundRatios,
} from "./dispatch/alternating-rounds.ts";
import { acceptBacklog } from "./support/backlog.ts";
import { subscribeMany, timeOneEvent } from "./support/fan-out.ts";
import { createRequire } from "node:module";

const layout = createLayout();

/**
 * bench/dispatch: hookd's ingest and delivery figures beside the raw ceilings of this machine.
 * Prints figures; asserts nothing. Scale with BENCH_SECONDS (default 10), BENCH_BACKOFF (default
 * 100000), BENCH_FANOUT (subscriptions one event goes to, default 10000), and BENCH_ROUNDS (default 3,
 * 0 for none) and BENCH_ROUND_JOBS (default 40000) for the delivery comparison's alternating rounds.
 */

/** hookd's HOOKD_CONCURRENCY; a quarter of it may go to one origin at once, which is what the peer gets too. */
const HOOKD_CONCURRENCY = 256;
const PER_ORIGIN = HOOKD_CONCURRENCY / 4;
const bullmqVersion = createRequire(import.meta.url)("bullmq/package.json").version as string;
const BACKOFF_COUNT = Number(process.env.BENCH_BACKOFF ?? 100_000);
const FAN_OUT = Number(process.env.BENCH_FANOUT ?? 10_000);
/** The delivery comparison's rounds (dispatch/alternating-rounds.ts) and the jobs each contender drains in one. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const ROUND_JOBS = Number(process.env.BENCH_ROUND_JOBS ?? 40_000);
/**
 * When the memory phase reads hookd again, at rest. Twice: on a slow machine V8 can still hold the
 * burst's heap at the first reading (run AQ: 247 MB at 90 s; alone, 130 MB from 60 s on).
 */
const REST_MS = [90_000, 180_000];
const results: [string, string][] = [];
const report = (name: string, value: string) => {
  results.push([name, value]);
  console.log(`  ${name}: ${value}`);
};

/**
 * 64 connections of POSTs for SECONDS. wrk (C, Debian's "wrk" package) leaves more of this small
 * machine to hookd than autocannon (Node), so it is used when installed.
 */
async function loadTest(
  url: string,
  headers: Record<string, string>,
  body: string,
): Promise<{ tool: string; ok: number; failed: number; p99Ms: number }> {
  const wrk = spawnSync("wrk", ["--version"], { encoding: "utf8" });
  if (!wrk.error) {
    const dir = await mkdtemp(join(tmpdir(), "hookd-wrk-"));
    const script = join(dir, "post.lua");
    const lua = [
      `wrk.method = "POST"`,
      `wrk.body = ${JSON.stringify(body)}`,
      ...Object.entries(headers).map(([k, v]) => `wrk.headers[${JSON.stringify(k)}] = ${JSON.stringify(v)}`),
    ];
    await writeFile(script, lua.join("\n"));
    const run = spawnSync("wrk", ["-t", "1", "-c", "64", "-d", `${SECONDS}s`, "--latency", "-s", script, url], {
      encoding: "utf8",
    });
    await rm(dir, { recursive: true, force: true });
    const requests = Number(/(\d+) requests in/.exec(run.stdout)?.[1] ?? 0);
    const failed = Number(/Non-2xx or 3xx responses: (\d+)/.exec(run.stdout)?.[1] ?? 0);
    const p99 = /99%\s+([\d.]+)(us|ms|s)/.exec(run.stdout);
    const p99Ms = p99 ? Number(p99[1]) * (p99[2] === "us" ? 0.001 : p99[2] === "s" ? 1000 : 1) : NaN;
    return { tool: "wrk", ok: requests - failed, failed, p99Ms };
  }
  const result = await autocannon({ url, method: "POST", connections: 64, duration: SECONDS, headers, body });
  return { tool: "autocannon", ok: result["2xx"], failed: result.non2xx, p99Ms: result.latency.p99 };
}

/**
 * Listing by state over the memory phase's journal (the deliveries it parked): the first page of
 * the backoff list 20 times, then its next 10 pages by cursor. BENCH_BACKOFF=1000000 lists a million.
 */
async function listingFigure(hookdUrl: string, inBackoff: number): Promise<void> {
  const headers = { authorization: `Bearer ${await tokens.tokenFor("/api/v1/deliveries")}` };
  const get = async (url: string) => {
    const started = performance.now();
    const response = await fetch(url, { headers });
    const body = (await response.json()) as { data: unknown[]; links: { next: string | null } };
    return { ms: performance.now() - started, rows: body.data.length, next: body.links.next };
  };
  const first = `${hookdUrl}/api/v1/deliveries?state=backoff&limit=50`;
  const firstPages: number[] = [];
  // The indexer follows the journal: wait until it lists a full page.
  for (const giveUpAt = Date.now() + 120_000; (await get(first)).rows < Math.min(50, inBackoff);) {
    if (Date.now() > giveUpAt) throw new Error("the backoff list did not fill within 2 minutes");
    await sleep(500);
  }
  for (let i = 0; i < 20; i++) firstPages.push((await get(first)).ms);
  const cursorPages: number[] = [];
  let next = (await get(first)).next;
  for (let i = 0; i < 10 && next !== null; i++) {
    const page = await get(new URL(next, hookdUrl).href);
    cursorPages.push(page.ms);
    next = page.next;
  }
  firstPages.sort((a, b) => a - b);
  cursorPages.sort((a, b) => a - b);
  report(
    `listing: GET /api/v1/deliveries?state=backoff&limit=50, ${
      fmt(inBackoff)
    } deliveries in the journal, all in backoff`,
    `first page median ${percentile(firstPages, 0.5).toFixed(1)} ms, max ${
      firstPages.at(-1)!.toFixed(1)
    } ms; ${cursorPages.length} pages on by cursor, median ${percentile(cursorPages, 0.5).toFixed(1)} ms`,
  );
}

/** Closed-loop POSTs at a fixed concurrency for a while; answers requests completed per second. */
async function postLoop(
  url: string,
  concurrency: number,
  seconds: number,
  body: (i: number) => string,
  headers: Record<string, string> = {},
) {
  const agent = new Agent({ connections: concurrency, pipelining: 1 });
  const deadline = performance.now() + seconds * 1000;
  let done = 0;
  let ok = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        const i = done++;
        const response = await request(url, {
          method: "POST",
          body: body(i),
          headers: { "content-type": "text/plain", ...headers },
          dispatcher: agent,
        });
        await response.body.dump();
        if (response.statusCode < 300) ok++;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  await agent.close();
  return { perSecond: ok / elapsed, ok };
}

/**
 * The same ingest with HOOKD_PROCESSES=2 (decision record 41): two processes taking the port's
 * connections in turn. On a nats-server of its own, as the larger body's, so the drain's backlog
 * stays the first phase's; compared with the first phase's ceiling and rate.
 */
async function ingestOnProcesses(path: string, headers: Record<string, string>, ceiling: number, oneProcess: number) {
  const monitorPort = await freePort();
  const ownNats = await startNats({ monitorPort });
  const hookd = await startHookd(ownNats.url, { HOOKD_WORKERS: "off", HOOKD_PROCESSES: "2" });
  try {
    // wrk's connections stay where they land: every process must listen before it connects.
    await untilListening(hookd, 2);
    const pids: Record<string, number> = Object.fromEntries(forkedPids(hookd).map((pid, i) => [`hookd ${i + 1}`, pid]));
    const cost = await phaseCost<Awaited<ReturnType<typeof loadTest>>, string>(
      { ...pids, "nats-server": ownNats.pid },
      monitorPort,
      () => loadTest(`${hookd.url}${path}`, headers, "n=ingest"),
      Object.keys(pids),
    );
    const rate = cost.result.ok / SECONDS;
    report(
      `ingest with HOOKD_PROCESSES=2: two processes on the port (64 connections, workers off, ${cost.result.tool})`,
      `${fmt(rate)}/s (${(rate / ceiling).toFixed(2)} of the JetStream ceiling, ${
        (rate / oneProcess).toFixed(2)
      } of one process's); p99 ${cost.result.p99Ms} ms; non-2xx ${cost.result.failed}; ${coresBusy(cost)}`,
    );
  } finally {
    await hookd.stop();
    await ownNats.stop();
  }
}

/** A webhook's body is rarely 8 bytes: the same ingest with a 2 KB JSON body, on a nats-server of its own so the drain's backlog stays as it is. */
const LARGER_BODY = JSON.stringify({ type: "invoice.paid", data: { lines: "x".repeat(1_950) } });

async function largerBodyIngest(receiverUrl: string, token: string, smallBodiesAccepted: number) {
  const ownNats = await startNats({});
  const hookd = await startHookd(ownNats.url, { HOOKD_WORKERS: "off" });
  try {
    const load = await loadTest(`${hookd.url}/dispatch?_url=${encodeURIComponent(`${receiverUrl}/hook`)}`, {
      authorization: `Bearer ${token}`,
      "content-type": "application/json",
    }, LARGER_BODY);
    report(
      `ingest with a ${fmt(LARGER_BODY.length)}-byte JSON body (64 connections, workers off, ${load.tool})`,
      `${fmt(load.ok / SECONDS)}/s (${
        (load.ok / smallBodiesAccepted).toFixed(2)
      } of the small body's); non-2xx ${load.failed}`,
    );
  } finally {
    await hookd.stop();
    await ownNats.stop();
  }
}

/**
 * hookd, BullMQ and the floor drain ROUND_JOBS each, in ROUNDS rounds of rotated order; the ratios
 * within each round, and their medians, are the comparison that the machine's changing speed moves least.
 */
async function deliveryRounds(
  nats: { url: string; pid: number },
  monitorPort: number,
  receiver: Child & { url: string },
  token: string,
): Promise<void> {
  if (ROUNDS < 1) return;
  const drainThroughHookd = async (): Promise<Drain> => {
    await settleBacklog({ nats, monitorPort });
    const ingest = await startHookd(nats.url, { HOOKD_WORKERS: "off" });
    const target = `${receiver.url}/hook`;
    const accepted = await acceptBacklog({ hookdUrl: ingest.url, target, token, count: ROUND_JOBS })
      .finally(() => ingest.stop());
    if (accepted === 0) return { skipped: "hookd accepted none of the round's dispatches" };
    if (accepted < ROUND_JOBS) console.log(`  hookd accepted ${fmt(accepted)} of ${fmt(ROUND_JOBS)}: it drains those`);
    return hookdDrain({ nats, monitorPort, receiver, jobs: accepted, concurrency: HOOKD_CONCURRENCY });
  };
  // Each process's share, not only the sum: the receiver's work per job is the same for all three, so
  // its figure moving between rounds is the machine's hour.
  const show = (drain: Drain) =>
    "skipped" in drain
      ? `skipped (${drain.skipped})`
      : `${fmt(drain.perSecond)}/s, CPU per job ${cpuSplit(drain.cpuMs)}`;
  const rounds = await alternatingRounds(ROUNDS, {
    hookd: drainThroughHookd,
    BullMQ: () => bullmqDrain(receiver, ROUND_JOBS, PER_ORIGIN),
    floor: () => jetstreamFloorDrain(receiver, nats, ROUND_JOBS, PER_ORIGIN),
  }, (round: Round, index) => {
    console.log(
      `  round ${index + 1}: hookd ${show(round.hookd)}; BullMQ ${show(round.BullMQ)}; floor ${show(round.floor)}`,
    );
  });
  report(
    `delivery in ${ROUNDS} alternating rounds of ${
      fmt(ROUND_JOBS)
    } jobs each (hookd, BullMQ, floor; rotated order): hookd/BullMQ`,
    ratioLine(roundRatios(rounds, "hookd", "BullMQ")),
  );
  report("same rounds: hookd/floor", ratioLine(roundRatios(rounds, "hookd", "floor")));
  report("same rounds: floor/BullMQ", ratioLine(roundRatios(rounds, "floor", "BullMQ")));
  const cpuRatios = rounds.map((round) => cpuPerJob(round.hookd) / cpuPerJob(round.BullMQ)).filter(Number.isFinite);
  report("same rounds: CPU per job of every process, hookd's over BullMQ's", ratioLine(cpuRatios));
}

async function main() {
  const monitorPort = await freePort();
  const nats = await startNats({ monitorPort });
  const children: Child[] = [];
  const servers: { stop(): Promise<void> }[] = [];
  console.log(
    `hookd bench/dispatch: ${SECONDS}s phases, ${fmt(BACKOFF_COUNT)} deliveries for the backoff memory check\n`,
  );
  try {
    // Ceiling 1: plain JetStream publishes from one Node process, with many in flight.
    const nc = await connect({ servers: nats.url });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: "BENCH_CEILING", subjects: ["bench.>"] });
    const js = jetstream(nc);
    const payload = new TextEncoder().encode(
      JSON.stringify({
        type: "delivery.created",
        at: new Date().toISOString(),
        data: { url: "http://127.0.0.1:1/x", body: "bj0x" },
      }),
    );
    let published = 0;
    const publishDeadline = performance.now() + SECONDS * 1000;
    const publishStart = performance.now();
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        while (performance.now() < publishDeadline) {
          await js.publish(`bench.ceiling.${published++ % 1000}`, payload);
        }
      }),
    );
    const publishCeiling = published / ((performance.now() - publishStart) / 1000);
    await jsm.streams.delete("BENCH_CEILING");
    console.log("ceilings");
    report("JetStream publish ceiling (64 in flight, one Node process)", `${fmt(publishCeiling)}/s`);

    // Ceiling 2: plain HTTP POSTs from Node to the same receiver hookd will deliver to.
    const receiver = await startReceiver(200);
    children.push(receiver);
    const httpCeiling = await postLoop(`${receiver.url}/ceiling`, 64, SECONDS, (i) => `c=${i}`);
    report("HTTP POST ceiling (Node → receiver, 64 in flight)", `${fmt(httpCeiling.perSecond)}/s`);
    await fetch(`${receiver.url}/__reset`, { method: "POST" });

    // Ceiling 3: hookd's HTTP stack with nothing behind it, loaded as ingest is next.
    const dispatchToken = await tokens.tokenFor("/dispatch");
    const target = encodeURIComponent(`${receiver.url}/hook`);
    const ingestHeaders = { authorization: `Bearer ${dispatchToken}`, "content-type": "text/plain" };
    const floor = await startHttpFloor();
    const floorCost = await phaseCost(
      { "HTTP stack": floor.child.pid! },
      monitorPort,
      () => loadTest(`${floor.url}/dispatch?_url=${target}`, ingestHeaders, "n=ingest"),
      ["HTTP stack"],
    ).finally(() => floor.stop());
    const floorLoad = floorCost.result;
    const floorRate = floorLoad.ok / SECONDS;
    report(
      `HTTP stack ceiling: Hono on @hono/node-server answering 202 with nothing behind it (64 connections, ${floorLoad.tool})`,
      `${fmt(floorRate)}/s (${(floorRate / publishCeiling).toFixed(2)} of the JetStream ceiling); ${
        coresBusy(floorCost)
      }`,
    );

    // Ingest: hookd with workers off, so the figure is accepting alone; 64 connections.
    console.log("\nhookd");
    const ingest = await startHookd(nats.url, { HOOKD_WORKERS: "off" });
    children.push(ingest);
    // Cores busy beside it: hookd runs its JavaScript on one thread, so a main thread near 1.00 is the limit.
    const ingestCost = await phaseCost(
      { hookd: ingest.child.pid!, "nats-server": nats.pid },
      monitorPort,
      () => loadTest(`${ingest.url}/dispatch?_url=${target}`, ingestHeaders, "n=ingest"),
      ["hookd"],
    );
    const load = ingestCost.result;
    const accepted = load.ok;
    const ingestRate = accepted / SECONDS;
    report(
      `ingest: dispatches accepted over HTTP (64 connections, workers off, ${load.tool})`,
      `${fmt(ingestRate)}/s (${(ingestRate / publishCeiling).toFixed(2)} of the JetStream ceiling, ${
        (ingestRate / floorRate).toFixed(2)
      } of the HTTP stack's); p99 ${load.p99Ms} ms; non-2xx ${load.failed}; ${coresBusy(ingestCost)}`,
    );
    await ingest.stop();
    await ingestOnProcesses(`/dispatch?_url=${target}`, ingestHeaders, publishCeiling, ingestRate);
    await largerBodyIngest(receiver.url, dispatchToken, accepted);

    // Delivery: a worker instance on the backlog just accepted, timed first to last arrival.
    const drain = await hookdDrain({ nats, monitorPort, receiver, jobs: accepted, concurrency: HOOKD_CONCURRENCY });
    const deliveryRate = drain.perSecond;
    report(
      `delivery: backlog drained to the receiver (one instance, ${PER_ORIGIN} at once to the receiver, signed)`,
      `${fmt(deliveryRate)}/s for ${fmt(accepted)} deliveries (${
        (deliveryRate / httpCeiling.perSecond).toFixed(2)
      } of the HTTP ceiling)`,
    );
    report(
      "delivery cost, same drain from 10% to 90% arrived: NATS messages in + out per delivery",
      `${drain.inMsgs.toFixed(1)} + ${drain.outMsgs.toFixed(1)} = ${(drain.inMsgs + drain.outMsgs).toFixed(1)}`,
    );
    report("delivery cost, same drain: CPU per delivery", cpuSplit(drain.cpuMs));

    // The peer: the same number of jobs through BullMQ on Redis, to the same receiver, signed per job.
    const peer = await bullmqDrain(receiver, accepted, PER_ORIGIN);
    if ("skipped" in peer) report("peer: BullMQ + Redis", `skipped: ${peer.skipped}`);
    else {
      report(
        `peer: BullMQ ${bullmqVersion} + Redis, same jobs, concurrency ${PER_ORIGIN}, HMAC-SHA256 per job`,
        `${fmt(peer.perSecond)}/s; hookd/BullMQ = ${(deliveryRate / peer.perSecond).toFixed(2)}`,
      );
      report("peer cost, its drain from 10% to 90% arrived: CPU per job", cpuSplit(peer.cpuMs));
    }
    // The floor: the same jobs pulled from a JetStream work queue and POSTed signed, nothing kept.
    const floorDrain = await jetstreamFloorDrain(receiver, nats, accepted, PER_ORIGIN);
    if ("skipped" in floorDrain) report("floor: a bare JetStream worker", `skipped: ${floorDrain.skipped}`);
    else {
      const versusPeer = "skipped" in peer
        ? ""
        : `; floor/BullMQ = ${(floorDrain.perSecond / peer.perSecond).toFixed(2)}`;
      report(
        `floor: a bare JetStream worker (work queue on the same nats-server, concurrency ${PER_ORIGIN}, signed, nothing journaled)`,
        `${fmt(floorDrain.perSecond)}/s; hookd/floor = ${
          (deliveryRate / floorDrain.perSecond).toFixed(2)
        }${versusPeer}`,
      );
      report("floor cost, its drain from 10% to 90% arrived: CPU per job", cpuSplit(floorDrain.cpuMs));
    }
    await deliveryRounds(nats, monitorPort, receiver, dispatchToken);
    await fetch(`${receiver.url}/__reset`, { method: "POST" });

    // Latency: open loop against a signing instance (measureLatency). The first WARMUP_SECONDS of each
    // rate warm the JIT and the connection pools and are not counted.
    const signing = await startHookd(nats.url, {
      HOOKD_CONCURRENCY: String(HOOKD_CONCURRENCY),
      HOOKD_SIGNING_SECRET: "whsec_" + Buffer.alloc(32, 7).toString("base64"),
    });
    children.push(signing);
    // Its delivery indexer first reads back the journal the drain wrote (a new instance takes the index
    // over): latency is measured once that is done, as it would be on a running instance.
    if (!(await streamReadersCaughtUp(monitorPort, layout.streams.journal))) {
      console.log("  (the journal's readers had not caught up after 2 minutes; latency measured anyway)");
    }
    const latency = { receiverUrl: receiver.url, target, nats, monitorPort };
    const on = { ...latency, name: "hookd", server: signing, headers: ingestHeaders };
    const floorHeaders = { "content-type": "text/plain" };
    const plainFloor = await startLatencyFloor(nats, PER_ORIGIN, false);
    children.push(plainFloor);
    const journalingFloor = await startLatencyFloor(nats, PER_ORIGIN, true);
    children.push(journalingFloor);
    const floors = {
      plain: { ...latency, name: "floor", server: plainFloor, headers: floorHeaders },
      journaling: { ...latency, name: "journaling floor", server: journalingFloor, headers: floorHeaders },
    };
    for (const [order, rate] of [200, 1_000].entries()) await latencyFigures(on, floors, rate, order, report);

    await plainFloor.stop();
    await journalingFloor.stop();
    await signing.stop();
    await receiver.stop();

    // Memory: BACKOFF_COUNT deliveries to a receiver that fails them all, retried in an hour, so they
    // wait in backoff. On a nats-server of their own: parked deliveries hold the work consumer's
    // slots (HOOKD_MAX_BACKLOG, a million by default), so a million of them would stall fan-out's.
    const parkNats = await startNats({});
    servers.push(parkNats);
    const failing = await startReceiver(500);
    children.push(failing);
    const parked = await startHookd(parkNats.url, { HOOKD_RETRY_SCHEDULE: "1h", HOOKD_CONCURRENCY: "256" });
    children.push(parked);
    const failingTarget = encodeURIComponent(`${failing.url}/fail`);
    const rssBefore = (await memoryOf(parked.child.pid!)).rssMb;
    // RSS as the parked count grows, read at each quarter while the dispatches go in (they are
    // attempted as they come), so a figure that grows with the count shows.
    const quarters: string[] = [];
    const watchQuarters = (async () => {
      let seen = 0;
      let movedAt = Date.now();
      for (let quarter = 1; quarter <= 4; await sleep(250)) {
        const s = await receiverStats(failing.url);
        // A bench stops by itself: five minutes without a new first attempt means some never come.
        if (s.distinct > seen) [seen, movedAt] = [s.distinct, Date.now()];
        else if (Date.now() - movedAt > 300_000) throw new Error(`only ${seen} of ${BACKOFF_COUNT} were attempted`);
        for (; quarter <= 4 && s.distinct >= (BACKOFF_COUNT * quarter) / 4; quarter++) {
          quarters.push(`${fmt(s.distinct)}: ${(await memoryOf(parked.child.pid!)).rssMb.toFixed(0)} MB`);
        }
      }
    })();
    // Awaited after the dispatches; a failure meanwhile must not end the bench before its cleanup.
    watchQuarters.catch(() => undefined);
    const parkAgent = new Agent({ connections: 64 });
    let next = 0;
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        while (next < BACKOFF_COUNT) {
          const i = next++;
          const response = await request(`${parked.url}/dispatch?_url=${failingTarget}`, {
            method: "POST",
            body: `n=b${i}`,
            headers: { authorization: `Bearer ${dispatchToken}` },
            dispatcher: parkAgent,
          });
          await response.body.dump();
        }
      }),
    );
    await parkAgent.close();
    await watchQuarters;
    await sleep(2_000);
    const parkConnection = await connect({ servers: parkNats.url });
    const info = await (await jetstreamManager(parkConnection)).consumers.info(
      layout.streams.work,
      layout.consumers.workers,
    );
    await parkConnection.close();
    const rss = (await memoryOf(parked.child.pid!)).rssMb;
    report(
      `RSS with ${fmt(BACKOFF_COUNT)} deliveries in backoff`,
      `${rss.toFixed(0)} MB (at start ${rssBefore.toFixed(0)} MB; as they were parked: ${
        quarters.join(", ")
      }); NATS holds ${fmt(info.num_ack_pending)} messages nak'd with a delay`,
    );
    // V8 keeps the heap it grew during the burst until a full collection, which an idle instance
    // gets within a minute or so: the resting figure is what a deployment holds while they wait.
    const restedAt = Date.now();
    const rested: string[] = [];
    for (const ms of REST_MS) {
      await sleep(restedAt + ms - Date.now());
      rested.push(`${ms / 1000} s: ${(await memoryOf(parked.child.pid!)).rssMb.toFixed(0)} MB`);
    }
    report(`RSS with ${fmt(BACKOFF_COUNT)} deliveries in backoff, later at rest`, rested.join("; "));
    await listingFigure(parked.url, BACKOFF_COUNT);
    await parked.stop();
    await parkNats.stop();

    // Fan-out, last (its subscriptions would weigh on the memory figure): one event to FAN_OUT
    // subscriptions, signed as the drain's deliveries are, beside the drain's rate.
    const fanReceiver = await startReceiver(200);
    children.push(fanReceiver);
    const fanHookd = await startHookd(nats.url, { HOOKD_CONCURRENCY: String(HOOKD_CONCURRENCY) });
    children.push(fanHookd);
    const fanOut = {
      hookdUrl: fanHookd.url,
      admin: `Bearer ${await tokens.tokenFor("/")}`,
      receiverUrl: fanReceiver.url,
      topic: "fan/out",
    };
    await subscribeMany(fanOut, FAN_OUT);
    // Three times: the first event on a fresh instance also pays for compiling fan-out's code, and V8 keeps
    // optimising through the next (the drain's rate above is its whole backlog's, over which that is spread
    // thin); the third is what an instance that has been running a while does. hookd's CPU per delivery
    // beside each compares with the drain's without the hour's speed.
    const timed = async () => {
      const cpuBefore = await cpuMsOf(fanHookd.child.pid!);
      const seconds = await timeOneEvent(fanOut, FAN_OUT);
      const cpuMs = (await cpuMsOf(fanHookd.child.pid!)) - cpuBefore;
      return `${seconds.toFixed(2)} s, ${fmt(FAN_OUT / seconds)}/s (${
        (FAN_OUT / seconds / deliveryRate).toFixed(2)
      } of the drain's rate; hookd ${(cpuMs / FAN_OUT).toFixed(2)} ms CPU per delivery)`;
    };
    const firstEvent = await timed();
    const nextEvent = await timed();
    const thirdEvent = await timed();
    report(
      `fan-out: one event to ${fmt(FAN_OUT)} subscriptions, all delivered (one instance, signed)`,
      `first event on a fresh instance ${firstEvent}; the next ${nextEvent}; the third ${thirdEvent}`,
    );
    await nc.close();
  } finally {
    for (const child of children) await child.stop();
    for (const server of servers) await server.stop().catch(() => undefined);
    await nats.stop();
  }
  console.log("\nsummary");
  for (const [name, value] of results) console.log(`| ${name} | ${value} |`);
}

await main();
process.exit(0);
