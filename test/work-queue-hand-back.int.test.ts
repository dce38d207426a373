import { AckPolicy, jetstream, jetstreamManager, type JsMsg } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
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
let nats: NatsProcess;

beforeAll(async () => {
  nats = await startNats({});
});
afterAll(async () => {
  await nats.stop();
});

describe("a stopping work queue's hand-back", () => {
  it("reaches the next runner well within the ack wait; a running runner hands back without delay", async () => {
    const nc = await connect({ servers: nats.url });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: "HANDBACK", subjects: ["handback.>"] });
    await jsm.consumers.add("HANDBACK", {
      durable_name: "carriers",
      ack_policy: AckPolicy.Explicit,
      ack_wait: ACK_WAIT_MS * 1_000_000,
    });
    const js = jetstream(nc);
    const log = createLogger("silent");
    try {
      // The first runner holds every message until its stop, then hands each back as a carrier does.
      let release!: () => void;
      const stopping = new Promise<void>((resolve) => (release = resolve));
      const held: JsMsg[] = [];
      const delays: number[] = [];
      const first = await runWorkQueue({
        js,
        stream: "HANDBACK",
        consumer: "carriers",
        concurrency: 16,
        prefetch: false,
        log,
        handle: async (message: JsMsg, pulls: Pulls) => {
          held.push(message);
          await stopping;
          const delay = pulls.handBackDelayMs();
          delays.push(delay);
          message.nak(delay);
        },
      });
      for (let i = 0; i < 4; i++) await js.publish(`handback.${i}`, new TextEncoder().encode(String(i)));
      for (const deadline = Date.now() + 5_000; held.length < 4 && Date.now() < deadline;) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(held).toHaveLength(4);
      const stopped = first.stop();
      release();
      await stopped;
      // The runner's open pull lasts at most its expiry (5 s) and a margin.
      expect(delays.every((delay) => delay > 0 && delay <= 5_250)).toBe(true);

      const taken: string[] = [];
      const runningDelays: number[] = [];
      const startedAt = Date.now();
      const second = await runWorkQueue({
        js,
        stream: "HANDBACK",
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
      for (const deadline = Date.now() + 15_000; taken.length < 4 && Date.now() < deadline;) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const tookMs = Date.now() - startedAt;
      await second.stop();
      expect(taken.sort()).toEqual(["handback.0", "handback.1", "handback.2", "handback.3"]);
      expect(tookMs).toBeLessThan(ACK_WAIT_MS / 3);
      expect(runningDelays).toEqual([0, 0, 0, 0]);
    } finally {
      await nc.close();
    }
  }, 40_000);
});
