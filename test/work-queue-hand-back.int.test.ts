import { AckPolicy, jetstream, type JetStreamClient, jetstreamManager, type JsMsg } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../src/log.ts";
import { type Pulls, runWorkQueue } from "../src/nats/work-queue.ts";
import { type NatsProcess, startNats } from "./support/processes.ts";

/**
 * A runner that stops hands back what it holds unfinished (the carriers: fan-out's events, ingest
 * batches). nats-server 2.9 keeps a stopped runner's pull request open until it expires and gives it a
 * message nak'd meanwhile; nobody reads that pull, so the message would wait out its ack wait. The
 * runner's Pulls say how long a hand-back must wait to miss it.
 */

const ACK_WAIT_MS = 30_000;
const HELD = 4;
const log = createLogger("silent");
let nats: NatsProcess;
let nc: NatsConnection;
let js: JetStreamClient;

beforeAll(async () => {
  nats = await startNats({});
  nc = await connect({ servers: nats.url });
  js = jetstream(nc);
});
afterAll(async () => {
  await nc.close();
  await nats.stop();
});

async function until(done: () => boolean, ms: number): Promise<void> {
  for (const deadline = Date.now() + ms; !done() && Date.now() < deadline;) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A runner that holds each message until `release`, then hands it back with the delay its Pulls say. */
async function holdingRunner(stream: string, concurrency: number) {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const held: JsMsg[] = [];
  const delays: number[] = [];
  const runner = await runWorkQueue({
    js,
    stream,
    consumer: "carriers",
    concurrency,
    prefetch: false,
    log,
    handle: async (message: JsMsg, pulls: Pulls) => {
      held.push(message);
      await released;
      const delay = pulls.handBackDelayMs();
      delays.push(delay);
      message.nak(delay);
    },
  });
  return { runner, held, delays, release };
}

/** A runner that takes every message at once; what it took, how long that took, and the delays its Pulls said while running. */
async function takeAll(stream: string): Promise<{ taken: string[]; tookMs: number; runningDelays: number[] }> {
  const taken: string[] = [];
  const runningDelays: number[] = [];
  const startedAt = Date.now();
  const runner = await runWorkQueue({
    js,
    stream,
    consumer: "carriers",
    concurrency: 16,
    prefetch: false,
    log,
    handle: async (message: JsMsg, pulls: Pulls) => {
      runningDelays.push(pulls.handBackDelayMs());
      taken.push(message.subject);
      message.ack();
    },
  });
  await until(() => taken.length >= HELD, 15_000);
  const tookMs = Date.now() - startedAt;
  await runner.stop();
  return { taken: taken.sort(), tookMs, runningDelays };
}

describe("a stopping work queue's hand-back", () => {
  // 16 handlers for 4 messages: a pull is open when it stops. 4 for 4: every handler busy, none is, and
  // the runner must not open one after the stop.
  it.each([{ concurrency: 16, pullOpen: true }, { concurrency: HELD, pullOpen: false }])(
    "reaches the next runner well within the ack wait (concurrency $concurrency)",
    async ({ concurrency, pullOpen }) => {
      const stream = `HANDBACK_${concurrency}`;
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: stream, subjects: [`${stream}.>`] });
      await jsm.consumers.add(stream, {
        durable_name: "carriers",
        ack_policy: AckPolicy.Explicit,
        ack_wait: ACK_WAIT_MS * 1_000_000,
      });
      const first = await holdingRunner(stream, concurrency);
      for (let i = 0; i < HELD; i++) await js.publish(`${stream}.${i}`, new TextEncoder().encode(String(i)));
      await until(() => first.held.length >= HELD, 5_000);
      expect(first.held).toHaveLength(HELD);
      // Let the runner settle where it waits (a pull open, or every handler busy).
      await new Promise((resolve) => setTimeout(resolve, 300));
      const stopped = first.runner.stop();
      first.release();
      await stopped;
      // At most the pull's expiry (5 s) and a margin; nothing to wait for without an open pull.
      expect(first.delays.every((delay) => Number.isInteger(delay) && delay >= 0 && delay <= 5_500)).toBe(true);
      expect(first.delays.every((delay) => delay > 0)).toBe(pullOpen);

      const next = await takeAll(stream);
      expect(next.taken).toEqual(Array.from({ length: HELD }, (_, i) => `${stream}.${i}`));
      expect(next.tookMs).toBeLessThan(ACK_WAIT_MS / 3);
      // A running runner's hand-back is not delayed.
      expect(next.runningDelays).toEqual(Array(HELD).fill(0));
    },
    40_000,
  );
});
