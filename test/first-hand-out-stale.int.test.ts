import { jetstream, type JsMsg } from "@nats-io/jetstream";
import { nanos } from "@nats-io/nats-core";
import { describe, expect, it } from "vitest";
import { createLayout } from "../src/nats/layout.ts";
import type { DeliveryWorker } from "../src/runtime/delivery-worker.ts";
import { api, type TestHookd, waitForState } from "./support/hookd.ts";
import { keyedDelivery, withoutWorkers, workerOn } from "./support/own-worker.ts";
import { hookdSuite } from "./support/suite.ts";

/**
 * A work message's delivery count is 1 on every copy the server handed out before its ack wait ran
 * out, not only on the first one handled. A worker's consume buffer can hold such a copy (every
 * handler busy, the process paused) while NATS hands the message out again to another instance,
 * which attempts, journals "delivered" and acks. The worker reads the journal's head before every
 * first attempt, so the stale copy is acknowledged, never sent. (A "first-hand-out fence" that
 * skipped that read was tried and taken out for this: see decision record 10a.)
 */

const layout = createLayout();
const suite = hookdSuite({ hookd: "none", receiver: false, connect: true });

type Setup = {
  front: TestHookd;
  worker: DeliveryWorker;
  id: string;
  /** Instance A's copy: handed out first (delivery count 1), then left in its consume buffer. */
  stale: JsMsg;
  /** The same message, handed out again to instance B past the ack wait (delivery count 2). */
  again: JsMsg;
};

async function handedOutTwice(targetUrl: string, key: string, run: (setup: Setup) => Promise<void>): Promise<void> {
  await withoutWorkers(suite, async ({ front, jsm, store, attempter }) => {
    // A short ack wait so NATS hands the message out again within the test.
    await jsm.consumers.update(layout.streams.work, layout.consumers.workers, { ack_wait: nanos(1_000) });
    const id = await keyedDelivery(front.url, targetUrl, key);
    const work = await jetstream(suite.nc).consumers.get(layout.streams.work, layout.consumers.workers);
    // Instance A's copy: handed out, then left in its buffer (all its handlers busy, or the process paused).
    const stale = await work.next({ expires: 10_000 });
    expect(stale?.subject).toBe(layout.subjects.deliveryCreated(id));
    expect(stale!.info.deliveryCount).toBe(1);
    // Past the ack wait NATS hands it to instance B.
    let again: JsMsg | null = null;
    while (!again) again = await work.next({ expires: 5_000 });
    expect(again.subject).toBe(stale!.subject);
    expect(again.info.deliveryCount).toBe(2);
    const worker = await workerOn(store, attempter);
    await run({ front, worker, id, stale: stale!, again });
  });
}

describe("a stale first hand-out (delivery count 1) of work another worker already took", () => {
  it("is not attempted again once its delivery is delivered", async () => {
    const target = await suite.startReceiver(() => ({ status: 200 }));
    await handedOutTwice(target.url, "stale-delivered", async ({ front, worker, id, stale, again }) => {
      // B delivers it and acks.
      await worker.handle(again);
      await waitForState(front.url, id, "delivered");
      expect(target.requests).toHaveLength(1);
      // A gets round to its buffered copy.
      await worker.handle(stale);
      expect(target.requests).toHaveLength(1);
    });
  }, 60_000);

  it("is not attempted after a cancel acknowledged to the user", async () => {
    const target = await suite.startReceiver(() => ({ status: 500 }));
    await handedOutTwice(target.url, "stale-cancelled", async ({ front, worker, id, stale, again }) => {
      // B attempts it: the receiver fails, the delivery waits in backoff (its journal is no longer empty).
      await worker.handle(again);
      await waitForState(front.url, id, "backoff");
      expect(target.requests).toHaveLength(1);
      // The user cancels: acknowledged. The journal has a head, so no fence is raised.
      expect((await api(front.url, `/api/v1/deliveries/${id}/cancel`, { method: "POST" })).status).toBe(200);
      await waitForState(front.url, id, "cancelled");
      // A gets round to its buffered copy.
      await worker.handle(stale);
      expect(target.requests).toHaveLength(1);
    });
  }, 60_000);
});

describe("a create's first hand-out that comes after a manual retry's work item was done", () => {
  // DeliveryCommands.retry on a pending delivery queues work when isQueued does not find the create in the
  // work stream. A create is written to the journal a moment before isQueued looks, and the server sources it
  // into the work stream asynchronously (a source that lost its upstream retries every 10 to 20 s): the
  // create can arrive after the retry's work.
  // The retry's item is not a sourced create, so a worker journals its start at sequence 0 without any
  // fence, delivers, acks; the create's later first hand-out then skips the read and sends it again.
  it("is not attempted once the retry's work delivered it", async () => {
    const target = await suite.startReceiver(() => ({ status: 200 }));
    await withoutWorkers(suite, async ({ front, store, attempter }) => {
      const id = await keyedDelivery(front.url, target.url, "retry-before-create");
      const work = await jetstream(suite.nc).consumers.get(layout.streams.work, layout.consumers.workers);
      // The create, as it will reach a worker later (sourced late, here held back).
      const create = await work.next({ expires: 10_000 });
      expect(create?.subject).toBe(layout.subjects.deliveryCreated(id));
      // What retry() queues when isQueued found no create in the work stream yet.
      await store.enqueueWork(id, `requeue:${id}:0`);
      const retried = await work.next({ expires: 10_000 });
      expect(retried?.subject).toBe(layout.subjects.deliveryWork(id));
      const worker = await workerOn(store, attempter);
      await worker.handle(retried!);
      await waitForState(front.url, id, "delivered");
      expect(target.requests).toHaveLength(1);
      await worker.handle(create!);
      expect(target.requests).toHaveLength(1);
    });
  }, 60_000);
});
