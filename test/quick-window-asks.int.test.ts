import { jetstream } from "@nats-io/jetstream";
import { describe, expect, it } from "vitest";
import { createLayout } from "../src/nats/layout.ts";
import { QuickWindows } from "../src/runtime/quick-windows.ts";
import { api, waitForState } from "./support/hookd.ts";
import { keyedDelivery, withoutWorkers, workerOn } from "./support/own-worker.ts";
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
    await withoutWorkers(suite, async ({ front, store, attempter }) => {
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
    }, 10_000);
  }, 60_000);
});
