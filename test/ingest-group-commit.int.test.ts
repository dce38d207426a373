import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { describe, expect, it } from "vitest";
import { api, deliveryOf, eventually, startTestHookd, waitForState } from "./support/hookd.ts";
import { hookdSuite } from "./support/suite.ts";
import { journalSubjectsOf } from "./support/delivery-journal.ts";
import { createLayout } from "../src/nats/layout.ts";
import { createdCarriedBy, DeliveryStore } from "../src/nats/delivery-store.ts";
import { JetStreamPublisher } from "../src/nats/jetstream-publisher.ts";
import { IngestBatcher } from "../src/nats/ingest-batcher.ts";
import type { DeliveryCreated } from "../src/domain/delivery-events.ts";
import { batchKeyOf } from "../src/domain/batch-ids.ts";

const layout = createLayout();

/**
 * Group commit: dispatches accepted together share one JetStream message until a worker expands them
 * into the journal. The suite's hookd only ingests (workers off); each test starts a worker when it is time.
 */

const suite = hookdSuite({ env: { HOOKD_WORKERS: "off" }, connect: true });

/** `count` dispatches to `url` accepted together, as ingest does in one turn: one batch, bodies `batched-<i>`. */
async function oneBatch(url: string, count: number): Promise<string[]> {
  const publisher = new JetStreamPublisher(suite.nc);
  const batcher = new IngestBatcher({
    publisher,
    layout,
    clock: Date.now,
    randomBytes: (length) => crypto.getRandomValues(new Uint8Array(length)),
    maxPayload: () => 1024 * 1024,
    storeOne: () => Promise.reject(new Error("the batch is small")),
  });
  const build = (i: number) => (id: string, at: number): DeliveryCreated => ({
    type: "delivery.created",
    at: new Date(at).toISOString(),
    data: {
      id,
      request: { url, method: "POST", headers: { "content-type": "text/plain" }, body: btoa(`batched-${i}`) },
      schedule: [1_000],
      secrets: [],
      source: "dispatch",
    },
  });
  try {
    return (await Promise.all(Array.from({ length: count }, (_, i) => batcher.add(build(i))))) as string[];
  } finally {
    await publisher.close();
  }
}

async function dispatch(base: string, body: string): Promise<string> {
  const response = await api(base, `/dispatch?_url=${encodeURIComponent(suite.receiver.url + "/batched")}`, {
    method: "POST",
    body,
    headers: { "content-type": "text/plain" },
  });
  expect(response.status).toBe(202);
  return ((await response.json()) as { id: string }).id;
}

describe("group commit at ingest", () => {
  it("stores concurrent dispatches together, each readable at once, and delivers each exactly as sent once a worker runs", async () => {
    const jsm = await jetstreamManager(suite.nc);
    const ids = await Promise.all(Array.from({ length: 200 }, (_, i) => dispatch(suite.hookd.url, `n=${i}`)));
    expect(new Set(ids).size).toBe(200);
    const { state } = await jsm.streams.info(layout.streams.ingest);
    // Fewer messages than dispatches: requests that arrived together were committed together.
    expect(state.messages).toBeGreaterThan(0);
    expect(state.messages).toBeLessThan(200);

    // No worker has expanded them yet, and each is already there to inspect.
    const view = await deliveryOf(suite.hookd.url, ids[17]!);
    expect(view.state).toBe("pending");
    expect(JSON.stringify(view.target)).toContain(`${suite.receiver.url}/batched`);

    const worker = await startTestHookd(suite.nats.url);
    try {
      await suite.receiver.waitFor(200);
      const bodies = suite.receiver.requests.map((request) => request.body.toString()).sort();
      expect(bodies).toEqual(Array.from({ length: 200 }, (_, i) => `n=${i}`).sort());
      await eventually(
        async () => (await jsm.streams.info(layout.streams.ingest)).state.messages === 0 || undefined,
        10_000,
        "the batches to be expanded and removed",
      );
      expect((await deliveryOf(worker.url, ids[17]!)).state).toBe("delivered");
    } finally {
      await worker.stop();
    }
  });

  it("a batch handed out again after its worker delivered it (the worker died before acknowledging) delivers nothing twice", async () => {
    const jsm = await jetstreamManager(suite.nc);
    const id = await dispatch(suite.hookd.url, "once");
    const key = batchKeyOf(id)!;
    const stored = await jsm.direct.getMessage(layout.streams.ingest, {
      last_by_subj: layout.subjects.ingestBatch(key),
    });
    expect(stored).not.toBeNull();
    const first = await startTestHookd(suite.nats.url);
    try {
      await waitForState(first.url, id, "delivered");
    } finally {
      await first.stop();
    }
    // The batch as NATS would hand it out again had that worker died before acknowledging it: once more,
    // on its second hand-out.
    await suite.nc.request(layout.subjects.ingestBatch(key), stored!.data);
    const expander = await jetstream(suite.nc).consumers.get(layout.streams.ingest, layout.consumers.expander);
    const handedOut = await expander.next({ expires: 5_000 });
    expect(handedOut?.info.deliveryCount).toBe(1);
    handedOut!.nak();
    const second = await startTestHookd(suite.nats.url);
    try {
      await eventually(
        async () => (await jsm.streams.info(layout.streams.ingest)).state.messages === 0 || undefined,
        10_000,
        "the batch to be taken again and removed",
      );
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(suite.receiver.requests.filter((request) => request.body.toString() === "once")).toHaveLength(1);
      expect((await deliveryOf(second.url, id)).history).toHaveLength(3);
      // Its created event is in its first journal message, with the attempt (decision record 26): no created subject.
      expect(await journalSubjectsOf(jsm, layout, id)).toEqual({ [layout.subjects.deliveryTransitions(id)]: 1 });
    } finally {
      await second.stop();
    }
  });

  it("attempts a batch's deliveries from the batch: one journal message each and no work message for those answered at once", async () => {
    const jsm = await jetstreamManager(suite.nc);
    const ids = await Promise.all(Array.from({ length: 50 }, (_, i) => dispatch(suite.hookd.url, `one-${i}`)));
    const before = (await jsm.streams.info(layout.streams.journal)).state.messages;
    const worker = await startTestHookd(suite.nats.url);
    try {
      for (const id of ids) await waitForState(worker.url, id, "delivered");
      expect((await jsm.streams.info(layout.streams.journal)).state.messages - before).toBe(50);
      const work = await jsm.consumers.info(layout.streams.work, layout.consumers.workers);
      expect(work.delivered.stream_seq).toBe(0);
      const view = await deliveryOf(worker.url, ids[3]!);
      expect(view.history.map((entry: { state: string }) => entry.state)).toEqual([
        "pending",
        "in-flight",
        "delivered",
      ]);
      expect(view.replay_mismatch ?? false).toBe(false);
    } finally {
      await worker.stop();
    }
  });

  it("does not send a delivery cancelled while it waited in its batch, and sends the rest of that batch", async () => {
    const ids = await Promise.all(Array.from({ length: 20 }, (_, i) => dispatch(suite.hookd.url, `cancel-${i}`)));
    const cancelled = ids[5]!;
    const response = await api(suite.hookd.url, `/api/v1/deliveries/${cancelled}/cancel`, { method: "POST" });
    expect(response.status).toBe(200);
    const worker = await startTestHookd(suite.nats.url);
    try {
      for (const id of ids.filter((id) => id !== cancelled)) await waitForState(worker.url, id, "delivered");
      expect((await deliveryOf(worker.url, cancelled)).state).toBe("cancelled");
      const sent = suite.receiver.requests.map((request) => request.body.toString());
      expect(sent).not.toContain("cancel-5");
      expect(sent.filter((body) => body.startsWith("cancel-"))).toHaveLength(19);
    } finally {
      await worker.stop();
    }
  });

  it("does not send a delivery cancelled while its batch is being worked, once the cancel is answered", async () => {
    const jsm = await jetstreamManager(suite.nc);
    const slow = await suite.startReceiver(() => ({ status: 200, delayMs: 300 }));
    const send = async (body: string) => {
      const response = await api(suite.hookd.url, `/dispatch?_url=${encodeURIComponent(slow.url + "/slow")}`, {
        method: "POST",
        body,
        headers: { "content-type": "text/plain" },
      });
      return ((await response.json()) as { id: string }).id;
    };
    // HOOKD_CONCURRENCY 1: one attempt at a time (the origin is known to answer fast after the first
    // delivery, so none is turned away).
    const worker = await startTestHookd(suite.nats.url, { HOOKD_CONCURRENCY: "1" });
    try {
      await waitForState(worker.url, await send("warm-up"), "delivered");
      // Six dispatches accepted in one turn: one batch, attempted one after another.
      const ids = await oneBatch(`${slow.url}/slow`, 6);
      const key = batchKeyOf(ids[0]!)!;
      await slow.waitFor(2);
      const last = ids.at(-1)!;
      const cancel = await api(suite.hookd.url, `/api/v1/deliveries/${last}/cancel`, { method: "POST" });
      expect(cancel.status).toBe(200);
      // The cancel found it still in its batch: it marked the batch, and journaled its creation with the cancel.
      const mark = await jsm.streams.getMessage(layout.streams.journal, {
        last_by_subj: layout.subjects.ingestBatchTouched(key),
      });
      expect(mark).not.toBeNull();
      const others = ids.filter((id) => id !== last);
      for (const id of others) await waitForState(worker.url, id, "delivered", 30_000);
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect((await deliveryOf(worker.url, last)).state).toBe("cancelled");
      const sent = slow.requests.map((request) => request.body.toString());
      expect(sent).not.toContain("batched-5");
      expect(sent).toHaveLength(others.length + 1);
    } finally {
      await worker.stop();
    }
  }, 60_000);

  it("reads a delivery handed to the work queue before any attempt as pending, and its work message carries its request", async () => {
    const jsm = await jetstreamManager(suite.nc);
    const store = new DeliveryStore(jetstream(suite.nc), jsm, new JetStreamPublisher(suite.nc), layout);
    const id = await dispatch(suite.hookd.url, "handed-off");
    const created = (await store.readCreated(id))!;
    expect(created.seq).toBe(0);
    // A batch's worker hands it off (twice: it died, and the batch was taken again), then dies before
    // acknowledging the batch, which NATS hands out again.
    const expander = await jetstream(suite.nc).consumers.get(layout.streams.ingest, layout.consumers.expander);
    const batch = await expander.next({ expires: 5_000 });
    expect(batch?.subject).toBe(layout.subjects.ingestBatch(batchKeyOf(id)!));
    await store.handOffBatched(created.event);
    await store.handOffBatched(created.event);
    batch!.nak();
    const view = await deliveryOf(suite.hookd.url, id);
    expect(view.state).toBe("pending");
    expect(view.history.map((entry: { state: string }) => entry.state)).toEqual(["pending"]);
    expect((await store.readHead(id))?.after.state).toBe("pending");
    const queued = await jsm.streams.info(layout.streams.work, { subjects_filter: layout.subjects.deliveryWork(id) });
    // Handed off twice (a batch taken again): one work message.
    expect(queued.state.subjects).toEqual({ [layout.subjects.deliveryWork(id)]: 1 });
    const work = await jsm.streams.getMessage(layout.streams.work, { last_by_subj: layout.subjects.deliveryWork(id) });
    expect(createdCarriedBy(work!.data)).toEqual(created.event);
    // The batch and the work message both reach the worker: it is sent once (each journals the start first).
    const worker = await startTestHookd(suite.nats.url);
    try {
      await waitForState(worker.url, id, "delivered");
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(suite.receiver.requests.filter((request) => request.body.toString() === "handed-off")).toHaveLength(1);
    } finally {
      await worker.stop();
    }
  });

  it("hands a delivery that fails its first attempt to the work queue, which retries it until it is delivered", async () => {
    let calls = 0;
    const flaky = await suite.startReceiver(() => ({ status: ++calls === 1 ? 503 : 200 }));
    const response = await api(suite.hookd.url, `/dispatch?_url=${encodeURIComponent(flaky.url + "/flaky")}`, {
      method: "POST",
      body: "flaky",
      headers: { "content-type": "text/plain" },
    });
    const { id } = (await response.json()) as { id: string };
    const worker = await startTestHookd(suite.nats.url, { HOOKD_RETRY_SCHEDULE: "200ms" });
    try {
      await waitForState(worker.url, id, "delivered");
      const states = (await deliveryOf(worker.url, id)).history.map((entry: { state: string }) => entry.state);
      expect(states).toEqual(["pending", "in-flight", "backoff", "in-flight", "delivered"]);
      expect(flaky.requests).toHaveLength(2);
    } finally {
      await worker.stop();
    }
  });

  it(
    "a batch a stopping worker leaves unfinished is finished by the next worker, which sends nothing twice",
    async () => {
      const slow = await suite.startReceiver(() => ({ status: 200, delayMs: 40 }));
      // One attempt at a time, so the batch is still being worked when its worker stops.
      const first = await startTestHookd(suite.nats.url, { HOOKD_CONCURRENCY: "1" });
      let second: Awaited<ReturnType<typeof startTestHookd>> | undefined;
      try {
        const ids = await oneBatch(`${slow.url}/stopping`, 30);
        await slow.waitFor(5);
        await first.stop();
        expect(slow.requests.length).toBeLessThan(30);
        second = await startTestHookd(suite.nats.url);
        for (const id of ids) await waitForState(second.url, id, "delivered", 20_000);
        await new Promise((resolve) => setTimeout(resolve, 500));
        const bodies = slow.requests.map((request) => request.body.toString());
        expect(bodies.sort()).toEqual(Array.from({ length: 30 }, (_, i) => `batched-${i}`).sort());
      } finally {
        await first.stop();
        await second?.stop();
      }
    },
    60_000,
  );

  it(
    "does not send a delivery cancelled while its batch waited behind another on a running worker",
    async () => {
      const slow = await suite.startReceiver(() => ({ status: 200, delayMs: 300 }));
      // One batch at a time: the second waits in NATS while the first is worked. Stored after the worker
      // began listening, it is taken without a read of its mark (decision record 35): the cancel is heard.
      const worker = await startTestHookd(suite.nats.url, { HOOKD_CONCURRENCY: "1" });
      const sentIds = () => slow.requests.map((request) => String(request.headers["hookd-delivery-id"]));
      try {
        const [warmUp] = await oneBatch(`${slow.url}/warm`, 1);
        await waitForState(worker.url, warmUp!, "delivered");
        const first = await oneBatch(`${slow.url}/first`, 3);
        await slow.waitFor(2);
        const second = await oneBatch(`${slow.url}/second`, 3);
        const cancelled = second[1]!;
        const cancel = await api(suite.hookd.url, `/api/v1/deliveries/${cancelled}/cancel`, { method: "POST" });
        expect(cancel.status).toBe(200);
        for (const id of [...first, second[0]!, second[2]!]) await waitForState(worker.url, id, "delivered", 20_000);
        await new Promise((resolve) => setTimeout(resolve, 500));
        expect((await deliveryOf(worker.url, cancelled)).state).toBe("cancelled");
        expect(sentIds()).not.toContain(cancelled);
        expect(sentIds()).toHaveLength(6);
      } finally {
        await worker.stop();
      }
    },
    60_000,
  );
});
