import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import type { DeliveryState } from "../actors/delivery.machine.ts";
import { listingFieldsOf } from "../src/domain/delivery-listing.ts";
import { DELIVERY_ID_PREFIX, ulid } from "../src/domain/ids.ts";
import {
  createdEvent,
  journalDelivery,
  type JournaledDelivery,
  openJournal,
} from "../test/support/delivery-journal.ts";
import { freePort, startNats } from "../test/support/processes.ts";
import { fmt, percentile, sleep } from "./support/figures.ts";
import { consolePage, type ConsoleSession, openConsoleStream, signInToConsole } from "./support/console-pages.ts";
import { benchTokens, memoryOf, receiverStats, startHookd, startReceiver } from "./support/processes.ts";

/**
 * Listing at scale (issues 12 and 14): fills a journal with BENCH_DELIVERIES deliveries (default
 * 1,000,000) in mixed states, written through hookd's own store as workers write them, starts
 * hookd, lets its indexer build the index from that journal (the backfill any existing journal
 * gets), and times GET /api/v1/deliveries?state=failed&limit=50, its next page, a filtered page
 * and the counts, with hookd's RSS; then the console's rendered pages at the same scale (the list,
 * filtered and not, and the fleet page, full HTML through a signed-in session), and how soon a list
 * page's live stream and the fleet page's show a delivery that fails while the million sit there. The work queue is
 * emptied before hookd starts, so no attempt is made but that one. Stops by itself.
 */

const N = Number(process.env.BENCH_DELIVERIES ?? 1_000_000);
const IN_FLIGHT = 4_000;
const ROUNDS = 7;
/** Out of 20: mostly delivered, some in backoff and failed, a few of the rest. */
const MIX: DeliveryState[] = [
  ...Array<DeliveryState>(12).fill("delivered"),
  ...Array<DeliveryState>(3).fill("backoff"),
  ...Array<DeliveryState>(2).fill("failed"),
  "pending",
  "in-flight",
  "cancelled",
];

function delivery(i: number, random: Uint8Array): JournaledDelivery {
  random[0] = i & 0xff;
  random[1] = (i >> 8) & 0xff;
  random[2] = (i >> 16) & 0xff;
  const fanOut = i % 4 !== 0;
  return {
    id: DELIVERY_ID_PREFIX + ulid(Date.now(), random),
    // Loopback hosts on the discard port: nothing is ever sent (the work queue is emptied first).
    url: `http://127.0.0.${1 + (i % 10)}:9/hooks/${i % 7}`,
    state: MIX[(i * 7) % MIX.length]!,
    at: Date.now(),
    ...(fanOut
      ? { subscriptionId: `sub_bench${i % 50}`, topic: `shop/orders/${i % 5}`, eventType: `order.${i % 4}` }
      : {}),
  };
}

async function fill(natsUrl: string): Promise<{ seconds: number; headerBytes: number }> {
  const nc = await connect({ servers: natsUrl });
  const journal = await openJournal(nc);
  const started = performance.now();
  let next = 0;
  let headerBytes = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      const random = crypto.getRandomValues(new Uint8Array(10));
      while (next < N) {
        const i = next++;
        const one = delivery(i, random);
        if (i < 1_000) headerBytes += JSON.stringify(listingFieldsOf(createdEvent(one))).length;
        await journalDelivery(journal.store, one);
        if (i % 100_000 === 0 && i > 0) console.log(`  ${fmt(i)} journaled`);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  // The work stream sourced every created event: empty it once it has them all, so hookd attempts nothing.
  const jsm = await jetstreamManager(nc);
  for (let waited = 0; waited < 600; waited++) {
    if ((await jsm.streams.info(journal.layout.streams.work)).state.messages >= N) break;
    await sleep(1_000);
  }
  await jsm.streams.purge(journal.layout.streams.work);
  journal.publisher.close();
  await nc.close();
  return { seconds, headerBytes: headerBytes / Math.min(N, 1_000) };
}

async function varz(monitor: string): Promise<{ in: number; out: number }> {
  const body = (await (await fetch(`${monitor}/varz`)).json()) as { in_msgs: number; out_msgs: number };
  return { in: body.in_msgs, out: body.out_msgs };
}

/** What the list and the counts answer, as far as the bench reads them. */
type Answer = {
  data: unknown[];
  next_cursor: string | null;
  links: { next: string };
  counts: Record<string, number>;
  total: number;
  index_lag: number;
};

async function timed(base: string, path: string, auth: string): Promise<{ ms: number; body: Answer }> {
  const started = performance.now();
  const response = await fetch(`${base}${path}`, { headers: { authorization: auth } });
  const body = (await response.json()) as Answer;
  const ms = performance.now() - started;
  if (!response.ok) throw new Error(`${path}: ${response.status} ${JSON.stringify(body)}`);
  return { ms, body };
}

/** The first, the median and the slowest of ROUNDS calls. */
function measure(base: string, path: () => string, auth: string): Promise<string> {
  return measureCalls(async () => (await timed(base, path(), auth)).ms);
}

/** The first, the median and the slowest of ROUNDS calls of `call`, which answers its own time in ms. */
async function measureCalls(call: () => Promise<number>): Promise<string> {
  const times: number[] = [];
  for (let i = 0; i < ROUNDS; i++) times.push(await call());
  const sorted = [...times].sort((a, b) => a - b);
  return `first ${fmt(times[0]!, 1)} ms, median ${fmt(percentile(sorted, 0.5), 1)} ms, max ${
    fmt(sorted.at(-1)!, 1)
  } ms`;
}

/** A console page, rendered and read in full, ROUNDS times. */
async function measurePage(session: ConsoleSession, path: string): Promise<string> {
  let bytes = 0;
  const figures = await measureCalls(async () => {
    const started = performance.now();
    bytes = (await consolePage(session, path)).length;
    return performance.now() - started;
  });
  return `${figures} (${fmt(bytes / 1024, 1)} KiB of HTML)`;
}

/** The failed count a fleet page or frame shows on its machine diagram. */
function failedOnFleet(html: string): number {
  return Number(/data-state="failed"[\s\S]*?class="count state-count">(\d+)</.exec(html)?.[1] ?? NaN);
}

/** A console live stream and how to tell the frame that shows the change the bench makes. */
type LiveView = { path: string; event: string; shows: (data: string, id: string) => boolean };

/**
 * One of the console's live streams open while a delivery fails (its receiver answers 410 Gone,
 * which fails it at the first attempt): how long from that attempt reaching the receiver until the
 * stream sends a frame that shows it.
 */
async function liveFailure(base: string, session: ConsoleSession, auth: string, view: LiveView): Promise<string> {
  const receiver = await startReceiver(410);
  const frames: { at: number; data: string }[] = [];
  const close = await openConsoleStream(session, view.path, (frame) => {
    if (frame.event === view.event) frames.push({ at: Date.now(), data: frame.data });
  });
  try {
    // The stream's consumer is made while it opens; give it a moment before the change it must see.
    await sleep(1_000);
    const dispatchedAt = Date.now();
    const response = await fetch(`${base}/dispatch?_url=${encodeURIComponent(`${receiver.url}/gone`)}`, {
      method: "POST",
      headers: { authorization: auth },
      body: "x",
    });
    const { id } = (await response.json()) as { id: string };
    if (response.status !== 202 || !id) throw new Error(`dispatch refused: ${response.status}`);
    const deadline = Date.now() + 60_000;
    const shown = () => frames.find((frame) => view.shows(frame.data, id));
    while (!shown() && Date.now() < deadline) await sleep(20);
    const stats = await receiverStats(receiver.url);
    const frame = shown();
    if (!frame) return `not within 60 s of the dispatch (${frames.length} frame(s) in all)`;
    return `${fmt(frame.at - (stats.first ?? dispatchedAt))} ms after its attempt reached the receiver (${
      fmt(frame.at - dispatchedAt)
    } ms after the dispatch; ${frames.length} frame(s) in all)`;
  } finally {
    close();
    await receiver.stop();
  }
}

async function main() {
  const monitorPort = await freePort();
  const nats = await startNats({ monitorPort });
  const monitor = `http://127.0.0.1:${monitorPort}`;
  let hookd: Awaited<ReturnType<typeof startHookd>> | undefined;
  try {
    console.log(`hookd bench/listing: ${fmt(N)} deliveries`);
    const filled = await fill(nats.url);
    console.log(`journal filled in ${fmt(filled.seconds, 1)} s (${fmt(N / filled.seconds)} deliveries/s)`);
    const before = await varz(monitor);
    const started = performance.now();
    hookd = await startHookd(nats.url);
    const atStart = await memoryOf(hookd.child.pid!);
    console.log(`hookd started; RSS ${fmt(atStart.rssMb)} MB while its indexer reads the journal`);
    const auth = `Bearer ${await benchTokens.tokenFor("/")}`;
    let lag = Infinity;
    let peakDuringBackfill = 0;
    while (lag > 0) {
      await sleep(1_000);
      // A read may time out while the server is busy with the backfill: ask again next second.
      lag = await timed(hookd.url, "/api/v1/deliveries/counts", auth).then(
        (answer) => answer.body.index_lag,
        () => lag,
      );
      peakDuringBackfill = Math.max(peakDuringBackfill, (await memoryOf(hookd.child.pid!)).rssMb);
    }
    const backfill = (performance.now() - started) / 1000;
    const after = await varz(monitor);
    const perDelivery = (after.in + after.out - before.in - before.out) / N;
    console.log(`index built from the journal (backfill) in ${fmt(backfill, 1)} s (${fmt(N / backfill)} deliveries/s)`);
    console.log(`  NATS messages in + out during the backfill, per delivery: ${fmt(perDelivery, 2)}`);
    console.log(`  listing header on each created event: ${fmt(filled.headerBytes)} bytes on average`);
    console.log(`  hookd RSS during the backfill: at most ${fmt(peakDuringBackfill)} MB`);

    const counts = await timed(hookd.url, "/api/v1/deliveries/counts", auth);
    console.log(`counts: ${JSON.stringify(counts.body.counts)} (total ${fmt(counts.body.total)})`);
    await sleep(1_100);
    console.log(
      `GET /api/v1/deliveries/counts (read fresh): ${
        fmt((await timed(hookd.url, "/api/v1/deliveries/counts", auth)).ms, 1)
      } ms`,
    );
    console.log(
      `GET /api/v1/deliveries/counts (within 1 s, shared): ${await measure(
        hookd.url,
        () => "/api/v1/deliveries/counts",
        auth,
      )}`,
    );
    const first = "/api/v1/deliveries?state=failed&limit=50";
    console.log(`GET ${first}: ${await measure(hookd.url, () => first, auth)}`);
    const page = (await timed(hookd.url, first, auth)).body;
    if (page.data.length !== 50 || !page.next_cursor) throw new Error("the first page is not full");
    console.log(`GET …&cursor=<next_cursor> (page 2): ${await measure(hookd.url, () => page.links.next, auth)}`);
    let deep = page;
    for (let i = 0; i < 20; i++) deep = (await timed(hookd.url, deep.links.next, auth)).body;
    console.log(`GET page 22 of state=failed: ${await measure(hookd.url, () => deep.links.next, auth)}`);
    const filtered = "/api/v1/deliveries?state=backoff&host=127.0.0.3:9&subscription_id=sub_bench2&limit=50";
    console.log(`GET ${filtered}: ${await measure(hookd.url, () => filtered, auth)}`);
    const noState = "/api/v1/deliveries?limit=50";
    console.log(`GET ${noState}: ${await measure(hookd.url, () => noState, auth)}`);

    console.log("the console, rendered (full HTML, signed in):");
    const session = await signInToConsole(hookd.url, await benchTokens.tokenFor("/"));
    for (const path of ["/console/deliveries?state=failed", "/console/deliveries"]) {
      console.log(`GET ${path}: ${await measurePage(session, path)}`);
    }
    const failedList: LiveView = {
      path: "/console/deliveries/live?state=failed",
      event: "results",
      shows: (data, id) => data.includes(`data-delivery="${id}"`),
    };
    console.log(`a failing delivery on ${failedList.path}: ${await liveFailure(hookd.url, session, auth, failedList)}`);
    // The fleet page last: its first visit reads the fleet window back from the journal.
    console.log(`GET /console/fleet: ${await measurePage(session, "/console/fleet")}`);
    const failedBefore = failedOnFleet(await consolePage(session, "/console/fleet"));
    const fleet: LiveView = {
      path: "/console/fleet/live",
      event: "fleet",
      shows: (data) => failedOnFleet(data) > failedBefore,
    };
    console.log(
      `a failing delivery on ${fleet.path} (failed above ${fmt(failedBefore)}): ${await liveFailure(
        hookd.url,
        session,
        auth,
        fleet,
      )}`,
    );
    const memory = await memoryOf(hookd.child.pid!);
    console.log(`hookd RSS ${fmt(memory.rssMb)} MB (peak ${fmt(memory.peakMb)} MB)`);
    // What hookd warned of meanwhile (a read that timed out, a read-back given up), once each with its count.
    const warned = new Map<string, number>();
    for (const line of hookd.problems) {
      const { msg, err } = JSON.parse(line) as { msg?: string; err?: { message?: string } };
      const key = `${msg}${err?.message ? `: ${err.message}` : ""}`;
      warned.set(key, (warned.get(key) ?? 0) + 1);
    }
    console.log(`hookd warnings: ${warned.size === 0 ? "none" : ""}`);
    for (const [warning, count] of warned) console.log(`  ${count} × ${warning}`);
  } finally {
    await hookd?.stop();
    await nats.stop();
  }
}

await main();
process.exit(0);
