import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { createLayout } from "../src/nats/layout.ts";
import { freePort, startNats } from "../test/support/processes.ts";
import { consolePage, type ConsoleSession, openConsoleStream, signInToConsole } from "./support/console-pages.ts";
import { fmt, sleep } from "./support/figures.ts";
import { benchTokens, cpuMsOf, memoryOf, startHookd, startReceiver } from "./support/processes.ts";

/**
 * What open live views cost hookd: the same stream of deliveries (RATE a second for SECONDS to one
 * receiver) with nothing open, with PAGES `GET /api/v1/deliveries/changes` listeners (filtered to a
 * delivery that never moves, and taking every change), and with PAGES open console pages, each
 * signed in and holding its live stream as a browser does: list pages filtered to a host that
 * receives nothing, list pages with no filter (every change concerns them), and delivery pages on
 * deliveries that no longer move. Prints hookd's CPU per delivery and RSS, the frames and bytes
 * the open streams got, and the consumers NATS holds on the journal and on the index for them. Asserts
 * nothing; stops by itself. CONSOLE_LISTENERS (pages or listeners per row), CONSOLE_RATE
 * (deliveries/s), CONSOLE_SECONDS override the defaults.
 */

const PAGES = Number(process.env.CONSOLE_LISTENERS ?? 100);
const RATE = Number(process.env.CONSOLE_RATE ?? 200);
const SECONDS = Number(process.env.CONSOLE_SECONDS ?? 10);

/** What is open during a phase: its label, and how to open one of them (resolving to how to close it). */
type Views = { label: string; open: ((count: Counter, i: number) => Promise<() => void>) | null };
type Counter = { frames: number; bytes: number };

type Phase = {
  label: string;
  deliveries: number;
  cpuMs: number;
  rssMb: number;
  /** Messages NATS sent hookd's connections meanwhile. */
  natsToHookd: number;
  frames: number;
  bytes: number;
  /** Consumers NATS held on the journal and on the index while the views were open, beyond those before. */
  consumers: { journal: number; index: number };
  /** Those still there 2 s after the views closed. */
  left: { journal: number; index: number };
};

/** Dispatches RATE a second for SECONDS; resolves to the ids accepted. */
async function dispatchFor(base: string, target: string, authorization: string): Promise<string[]> {
  const url = `${base}/dispatch?_url=${encodeURIComponent(target)}`;
  let sent = 0;
  const ids: string[] = [];
  const started = Date.now();
  const inFlight = new Set<Promise<unknown>>();
  while (Date.now() - started < SECONDS * 1000) {
    const due = Math.floor(((Date.now() - started) / 1000) * RATE);
    while (sent < due) {
      sent++;
      const request = fetch(url, { method: "POST", headers: { authorization }, body: "x" })
        .then((response) => response.json() as Promise<{ id?: string }>)
        .then((body) => body.id && ids.push(body.id))
        .catch(() => undefined)
        .finally(() => inFlight.delete(request));
      inFlight.add(request);
    }
    await sleep(10);
  }
  await Promise.all(inFlight);
  return ids;
}

/** An API change-feed listener that counts `delivery.change` events; resolves to how to stop it. */
async function listen(url: string, authorization: string, counter: Counter): Promise<() => void> {
  const abort = new AbortController();
  const response = await fetch(url, { headers: { authorization, accept: "text/event-stream" }, signal: abort.signal });
  if (!response.ok || !response.body) throw new Error(`listener refused: ${response.status}`);
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  void (async () => {
    for (;;) {
      const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }));
      if (done || !value) return;
      counter.bytes += value.length;
      counter.frames += decoder.decode(value).split("event: delivery.change").length - 1;
    }
  })();
  return () => abort.abort();
}

/** A console page as a browser holds it: the page read once, then its live stream kept open. */
async function openPage(session: ConsoleSession, page: string, live: string, counter: Counter) {
  await consolePage(session, page);
  return openConsoleStream(session, live, (_frame, bytes) => {
    counter.frames++;
    counter.bytes += bytes;
  });
}

async function phase(
  hookd: { url: string; pid: number },
  receiverUrl: string,
  views: Views,
  consumers: () => Promise<Phase["consumers"]>,
  sentToHookd: () => Promise<number>,
): Promise<Phase & { ids: string[] }> {
  const authorization = `Bearer ${await benchTokens.tokenFor("/")}`;
  const counter = { frames: 0, bytes: 0 };
  const before = await consumers();
  const stops: (() => void)[] = [];
  for (let i = 0; views.open && i < PAGES; i++) stops.push(await views.open(counter, i));
  await sleep(1_000);
  // Only what the deliveries below cause.
  counter.frames = 0;
  counter.bytes = 0;
  const cpuBefore = await cpuMsOf(hookd.pid);
  const natsBefore = await sentToHookd();
  const ids = await dispatchFor(hookd.url, receiverUrl, authorization);
  // Let the last attempts finish and their changes reach the open views.
  await sleep(2_000);
  const cpuMs = (await cpuMsOf(hookd.pid)) - cpuBefore;
  const natsToHookd = (await sentToHookd()) - natsBefore;
  const { rssMb } = await memoryOf(hookd.pid);
  const held = await consumers();
  for (const stop of stops) stop();
  await sleep(2_000);
  // A closed page's ordered consumer stays on the server until it has gone unread for the client's
  // inactive threshold (5 minutes in nats.js), so this row's are the ones it added.
  const left = await consumers();
  const { frames, bytes } = counter;
  return {
    label: views.label,
    deliveries: ids.length,
    cpuMs,
    rssMb,
    natsToHookd,
    frames,
    bytes,
    consumers: { journal: held.journal - before.journal, index: held.index - before.index },
    left: { journal: left.journal - before.journal, index: left.index - before.index },
    ids,
  };
}

async function main(): Promise<void> {
  const monitorPort = await freePort();
  const nats = await startNats({ monitorPort });
  const receiver = await startReceiver().catch(async (error) => {
    await nats.stop();
    throw error;
  });
  const hookd = await startHookd(nats.url).catch(async (error) => {
    await receiver.stop();
    await nats.stop();
    throw error;
  });
  const nc = await connect({ servers: nats.url, name: "bench" });
  // Every connection but the bench's own is hookd's.
  const sentToHookd = async () => {
    const connz = (await (await fetch(`http://127.0.0.1:${monitorPort}/connz?limit=1000`)).json()) as {
      connections: { name?: string; out_msgs: number }[];
    };
    return connz.connections.filter((c) => c.name !== "bench").reduce((sum, c) => sum + c.out_msgs, 0);
  };
  const jsm = await jetstreamManager(nc);
  const { journal, index } = createLayout().streams;
  const consumers = async () => ({
    journal: (await jsm.streams.info(journal)).state.consumer_count,
    index: (await jsm.streams.info(index)).state.consumer_count,
  });
  try {
    const target = { url: hookd.url, pid: hookd.child.pid! };
    const token = await benchTokens.tokenFor("/");
    const authorization = `Bearer ${token}`;
    const session = await signInToConsole(hookd.url, token);
    console.log(`${RATE} deliveries/s for ${SECONDS} s, ${PAGES} pages or listeners a row, hookd pid ${target.pid}`);
    // A warm-up, so the first phase does not pay for JIT and the streams' first writes; its
    // deliveries, long delivered by the last phase, are the ones the delivery pages show.
    const { ids: still } = await phase(target, receiver.url, { label: "warm-up", open: null }, consumers, sentToHookd);
    if (still.length < PAGES) throw new Error(`only ${still.length} deliveries in the warm-up`);
    const api = (filter: string) => (counter: Counter) =>
      listen(`${hookd.url}/api/v1/deliveries/changes${filter}`, authorization, counter);
    // A host no delivery of the run goes to (the receiver is 127.0.0.1).
    const quietHost = "host=127.0.0.2:9";
    const views: Views[] = [
      { label: "nothing open", open: null },
      { label: `${PAGES} API listeners, one delivery`, open: api("?delivery_id=dlv_00000000000000000000000000") },
      { label: `${PAGES} API listeners, every change`, open: api("") },
      {
        label: `${PAGES} list pages, a quiet host`,
        open: (counter) =>
          openPage(session, `/console/deliveries?${quietHost}`, `/console/deliveries/live?${quietHost}`, counter),
      },
      {
        label: `${PAGES} list pages, no filter`,
        open: (counter) => openPage(session, "/console/deliveries", "/console/deliveries/live", counter),
      },
      {
        label: `${PAGES} delivery pages, still`,
        open: (counter, i) =>
          openPage(session, `/console/deliveries/${still[i]}`, `/console/deliveries/${still[i]}/live`, counter),
      },
      // The machine drifts (it is shared): the first row again shows by how much.
      { label: "nothing open, again", open: null },
    ];
    const results: Phase[] = [];
    for (const view of views) {
      results.push(await phase(target, receiver.url, view, consumers, sentToHookd));
      console.log(`  ${view.label}: done`);
    }
    console.log(
      "open                                deliveries  hookd CPU ms  CPU ms/delivery  RSS MiB  NATS msgs to hookd/delivery  frames sent  KiB sent  consumers added, journal / index  left 2 s after closing",
    );
    for (const r of results) {
      console.log(
        [
          r.label.padEnd(35),
          fmt(r.deliveries).padStart(11),
          fmt(r.cpuMs).padStart(13),
          fmt(r.cpuMs / r.deliveries, 3).padStart(16),
          fmt(r.rssMb, 1).padStart(8),
          fmt(r.natsToHookd / r.deliveries, 2).padStart(28),
          fmt(r.frames).padStart(12),
          fmt(r.bytes / 1024).padStart(9),
          `${fmt(r.consumers.journal)} / ${fmt(r.consumers.index)}`.padStart(34),
          `${fmt(r.left.journal)} / ${fmt(r.left.index)}`.padStart(23),
        ].join(" "),
      );
    }
  } finally {
    await nc.close();
    await hookd.stop();
    await receiver.stop();
    await nats.stop();
  }
}

await main();
// Streams aborted above may leave sockets the event loop would wait on.
process.exit(0);
