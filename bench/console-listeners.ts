import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { createLayout } from "../src/nats/layout.ts";
import { startNats } from "../test/support/processes.ts";
import { fmt, sleep } from "./support/figures.ts";
import { benchTokens, cpuMsOf, memoryOf, startHookd, startReceiver } from "./support/processes.ts";

/**
 * What open change-feed listeners (the console's live pages) cost hookd: the same stream of
 * deliveries with no listener, with LISTENERS of `GET /api/v1/deliveries/changes` filtered to a
 * delivery that never moves (a page showing one delivery), and with LISTENERS taking every change
 * (a live list), printing hookd's CPU per delivery and RSS, and the consumers NATS holds on the
 * journal. Prints; asserts nothing. CONSOLE_LISTENERS, CONSOLE_RATE (deliveries/s), CONSOLE_SECONDS override the defaults.
 */

const LISTENERS = Number(process.env.CONSOLE_LISTENERS ?? 100);
const RATE = Number(process.env.CONSOLE_RATE ?? 200);
const SECONDS = Number(process.env.CONSOLE_SECONDS ?? 10);

type Phase = {
  listeners: number;
  filtered: boolean;
  deliveries: number;
  cpuMs: number;
  rssMb: number;
  events: number;
  consumers: number;
};

async function dispatchFor(base: string, target: string, authorization: string): Promise<number> {
  const url = `${base}/dispatch?_url=${encodeURIComponent(target)}`;
  let sent = 0;
  const started = Date.now();
  const inFlight = new Set<Promise<unknown>>();
  while (Date.now() - started < SECONDS * 1000) {
    const due = Math.floor(((Date.now() - started) / 1000) * RATE);
    while (sent < due) {
      sent++;
      const request = fetch(url, { method: "POST", headers: { authorization }, body: "x" })
        .then((response) => response.arrayBuffer())
        .catch(() => undefined)
        .finally(() => inFlight.delete(request));
      inFlight.add(request);
    }
    await sleep(10);
  }
  await Promise.all(inFlight);
  return sent;
}

/** An SSE reader that counts `delivery.change` events; resolves to how to stop it. */
async function listen(url: string, authorization: string, counter: { events: number }): Promise<() => void> {
  const abort = new AbortController();
  const response = await fetch(url, { headers: { authorization, accept: "text/event-stream" }, signal: abort.signal });
  if (!response.ok || !response.body) throw new Error(`listener refused: ${response.status}`);
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  void (async () => {
    for (;;) {
      const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }));
      if (done) return;
      counter.events += decoder.decode(value).split("event: delivery.change").length - 1;
    }
  })();
  return () => abort.abort();
}

async function phase(
  hookd: { url: string; pid: number },
  receiverUrl: string,
  listeners: number,
  filtered: boolean,
  journalConsumers: () => Promise<number>,
): Promise<Phase> {
  const authorization = `Bearer ${await benchTokens.tokenFor("/")}`;
  const counter = { events: 0 };
  const stops: (() => void)[] = [];
  for (let i = 0; i < listeners; i++) {
    const filter = filtered ? "?delivery_id=dlv_00000000000000000000000000" : "";
    stops.push(await listen(`${hookd.url}/api/v1/deliveries/changes${filter}`, authorization, counter));
  }
  await sleep(1_000);
  const cpuBefore = await cpuMsOf(hookd.pid);
  const deliveries = await dispatchFor(hookd.url, receiverUrl, authorization);
  // Let the last attempts finish and their changes reach the listeners.
  await sleep(2_000);
  const cpuMs = (await cpuMsOf(hookd.pid)) - cpuBefore;
  const { rssMb } = await memoryOf(hookd.pid);
  const consumers = await journalConsumers();
  for (const stop of stops) stop();
  await sleep(500);
  return { listeners, filtered, deliveries, cpuMs, rssMb, events: counter.events, consumers };
}

async function main(): Promise<void> {
  const nats = await startNats();
  const receiver = await startReceiver().catch(async (error) => {
    await nats.stop();
    throw error;
  });
  const hookd = await startHookd(nats.url).catch(async (error) => {
    await receiver.stop();
    await nats.stop();
    throw error;
  });
  const nc = await connect({ servers: nats.url });
  const jsm = await jetstreamManager(nc);
  const journal = createLayout().streams.journal;
  const journalConsumers = async () => (await jsm.streams.info(journal)).state.consumer_count;
  try {
    const target = { url: hookd.url, pid: hookd.child.pid! };
    console.log(`${RATE} deliveries/s for ${SECONDS} s, hookd pid ${target.pid}`);
    // A warm-up, so the first phase does not pay for JIT and the streams' first writes.
    await phase(target, receiver.url, 0, false, journalConsumers);
    const results = [
      await phase(target, receiver.url, 0, false, journalConsumers),
      await phase(target, receiver.url, LISTENERS, true, journalConsumers),
      await phase(target, receiver.url, LISTENERS, false, journalConsumers),
    ];
    console.log(
      "listeners           deliveries  hookd CPU ms  CPU ms/delivery  RSS MiB  change events read  journal consumers",
    );
    for (const r of results) {
      console.log(
        [
          `${fmt(r.listeners)}${r.listeners > 0 ? (r.filtered ? " one delivery" : " everything") : ""}`.padEnd(19),
          fmt(r.deliveries).padStart(11),
          fmt(r.cpuMs).padStart(13),
          fmt(r.cpuMs / r.deliveries, 3).padStart(16),
          fmt(r.rssMb, 1).padStart(8),
          fmt(r.events).padStart(19),
          fmt(r.consumers).padStart(18),
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
