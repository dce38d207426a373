import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../src/log.ts";
import { BatchTouches } from "../src/nats/batch-touches.ts";
import { createLayout } from "../src/nats/layout.ts";
import { eventually } from "./support/hookd.ts";
import { type NatsProcess, startNats } from "./support/processes.ts";

/**
 * An instance hears touch marks on ingest batches as they are written. A batch stored after it began
 * listening has every touch of it heard, so its first attempts need not read its mark from the stream
 * (decision record 35); one stored before, or while the connection was away, or accepted longer ago
 * than touches are remembered, must still read it.
 */

const layout = createLayout();
const log = createLogger("silent");
let nats: NatsProcess;
let nc: NatsConnection;

beforeAll(async () => {
  nats = await startNats({});
  nc = await connect({ servers: nats.url, reconnectTimeWait: 100, maxReconnectAttempts: -1 });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: layout.streams.ingest, subjects: [layout.subjects.ingestBatch("*")] });
  await jsm.streams.add({ name: layout.streams.journal, subjects: [layout.subjects.allIngestBatchTouches] });
});
afterAll(async () => {
  await nc.close();
  await nats.stop();
});

describe("touch marks heard on ingest batches", () => {
  it(
    "hears every touch of a batch stored after it listened, none of one stored before, and again after a reconnect",
    async () => {
      const js = jetstream(nc);
      const jsm = await jetstreamManager(nc);
      const storeBatch = async (key: string) => (await js.publish(layout.subjects.ingestBatch(key), "[]")).seq;
      const before = await storeBatch("before");
      // Held while `reading` is pending: the window after a reconnect, before where listening began is read again.
      let reading = Promise.resolve();
      const lastIngestSeq = async () => {
        await reading;
        return (await jsm.streams.info(layout.streams.ingest)).state.last_seq;
      };
      const touches = new BatchTouches(nc, layout, Date.now, log, lastIngestSeq, () => true);
      try {
        await eventually(async () => touches.hearsEveryTouchOf(before + 1, Date.now()) === true);
        // A touch of the batch stored before may have been written before the subscription: its mark is read.
        expect(touches.hearsEveryTouchOf(before, Date.now())).toBe(false);
        const after = await storeBatch("after");
        expect(touches.hearsEveryTouchOf(after, Date.now())).toBe(true);
        // A batch that waited long in the stream may have been touched before the touch's memory began.
        expect(touches.hearsEveryTouchOf(after, Date.now() - 31 * 60_000)).toBe(false);
        await js.publish(layout.subjects.ingestBatchTouched("after"), "d_1");
        await eventually(async () => touches.touched("after") === true);
        expect(touches.touched("before")).toBe(false);

        // While the connection is away nothing is heard, and a batch stored then may have been touched then.
        await nats.pause();
        await eventually(async () => touches.hearsEveryTouchOf(after + 1, Date.now()) === false);
        expect(touches.touched("anything")).toBe(true);
        let read!: () => void;
        reading = new Promise((resolve) => (read = resolve));
        await nats.restart();
        await eventually(async () => touches.touched("anything") === false, 15_000);
        // Reconnected, and where listening began not read again yet: the old point no longer counts.
        expect(touches.hearsEveryTouchOf(after + 1, Date.now())).toBe(false);
        read();
        // JetStream answers once the restarted server has its streams back.
        const storedAway = await eventually(
          () => storeBatch("stored-while-reconnecting").catch(() => undefined),
          15_000,
        );
        await eventually(async () => touches.hearsEveryTouchOf(storedAway + 1, Date.now()) === true, 15_000);
        // Stored before the disconnect, it was heard in full then; a touch of it may have been written while away.
        expect(touches.hearsEveryTouchOf(after, Date.now())).toBe(false);
        expect(touches.touched("anything")).toBe(false);
      } finally {
        touches.stop();
      }
    },
    30_000,
  );

  it("hears no batch in full when it cannot know it talks to the only server", async () => {
    const jsm = await jetstreamManager(nc);
    const lastIngestSeq = async () => (await jsm.streams.info(layout.streams.ingest)).state.last_seq;
    let asked = 0;
    const touches = new BatchTouches(nc, layout, Date.now, log, lastIngestSeq, () => (asked++, false));
    try {
      await eventually(async () => asked > 0);
      await nc.flush();
      expect(touches.hearsEveryTouchOf(Number.MAX_SAFE_INTEGER, Date.now())).toBe(false);
    } finally {
      touches.stop();
    }
  });
});
