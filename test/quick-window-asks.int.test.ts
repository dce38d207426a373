import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { describe, expect, it } from "vitest";
import { createHttpAttempter } from "../src/delivery/http-attempt.ts";
import { NetworkPolicy } from "../src/delivery/network-policy.ts";
import { DeliveryStore } from "../src/nats/delivery-store.ts";
import { JetStreamPublisher } from "../src/nats/jetstream-publisher.ts";
import { createLayout } from "../src/nats/layout.ts";
import { QuickWindows } from "../src/runtime/quick-windows.ts";
import { api, startTestHookd, waitForState } from "./support/hookd.ts";
import { keyedDelivery, workerOn } from "./support/own-worker.ts";
import { hookdSuite } from "./support/suite.ts";

/**
 * A first attempt on the wire in its quick window is asked to journal its start now (`/verify` from
 * the receiver's handler, decision record 31). When that start cannot be journaled, the asker hears
 * so at once: the receiver that asked may be holding the very attempt the answer would wait for.
 */

const layout = createLayout();
const suite = hookdSuite({ hookd: "none", receiver: false, connect: true });

describe("an ask for a first attempt in its quick window", () => {
  it("is answered at once when the start cannot be journaled, not when the attempt ends", async () => {
    const receiver = await suite.startReceiver(() => ({ status: 200, delayMs: 5_000 }));
    // No workers: the test's own worker takes the delivery.
    const front = await startTestHookd(suite.nats.url, { HOOKD_WORKERS: "off" });
    const publisher = new JetStreamPublisher(suite.nc);
    const attempter = createHttpAttempter({ timeoutMs: 10_000, policy: new NetworkPolicy(["127.0.0.0/8", "::1/128"]) });
    try {
      const jsm = await jetstreamManager(suite.nc);
      const store = new DeliveryStore(jetstream(suite.nc), jsm, publisher, layout);
      const windows = new QuickWindows();
      const worker = await workerOn(store, attempter, { quickWindows: windows, quickAttemptMs: 8_000 });
      const id = await keyedDelivery(front.url, receiver.url, "asked-after-cancel");
      const work = await jetstream(suite.nc).consumers.get(layout.streams.work, layout.consumers.workers);
      const create = await work.next({ expires: 10_000 });
      expect(create?.subject).toBe(layout.subjects.deliveryCreated(id));
      const handling = worker.handle(create!);
      await receiver.waitFor(1);
      // A cancel lands while the attempt is on the wire: the start's append now conflicts.
      expect((await api(front.url, `/api/v1/deliveries/${id}/cancel`, { method: "POST" })).status).toBe(200);
      const askedAt = Date.now();
      expect(await windows.ask(id)).toBe(true);
      expect(Date.now() - askedAt).toBeLessThan(2_000);
      await handling;
      // The attempt's start and outcome still follow the cancel in the journal, and nothing was sent twice.
      await waitForState(front.url, id, "cancelled");
      expect(receiver.requests).toHaveLength(1);
      expect(windows.size).toBe(0);
    } finally {
      await attempter.close();
      await front.stop();
      await publisher.close();
    }
  }, 60_000);
});
