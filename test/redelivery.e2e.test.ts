import { jetstream } from "@nats-io/jetstream";
import { describe, expect, it } from "vitest";
import { api, deliveryOf, spawnTestHookd, startTestHookd, waitForState } from "./support/hookd.ts";
import { hookdSuite } from "./support/suite.ts";
import { createLayout } from "../src/nats/layout.ts";

const layout = createLayout();

// Each test starts its own hookd: one with a slow retry schedule, or child processes it kills.
const suite = hookdSuite({ hookd: "none", receiver: false, connect: true });

describe("redelivery", () => {
  it("a duplicate work item for a delivery in backoff is handed back, not attempted early", async () => {
    const r = await suite.startReceiver((_request, index) => (index === 0 ? { status: 500 } : { status: 200 }));
    const hookd = await startTestHookd(suite.nats.url, { HOOKD_RETRY_SCHEDULE: "2s" });
    try {
      const created = await api(hookd.url, "/api/v1/deliveries", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ url: r.url, body: "x" }),
      });
      const { id } = await created.json();
      const backoff = await waitForState(hookd.url, id, "backoff");
      // What NATS does after a restart or a duplicate enqueue: the work arrives again before the retry is due.
      await jetstream(suite.nc).publish(layout.subjects.deliveryWork(id), JSON.stringify({ id }));
      await new Promise((resolve) => setTimeout(resolve, 700));
      expect(r.requests).toHaveLength(1);
      expect((await deliveryOf(hookd.url, id)).state).toBe("backoff");
      const delivered = await waitForState(hookd.url, id, "delivered", 10_000);
      expect(r.requests).toHaveLength(2);
      expect(r.requests[1]!.at).toBeGreaterThanOrEqual(Date.parse(backoff.next_attempt_at) - 5);
      expect(delivered.attempts_made).toBe(2);
    } finally {
      await hookd.stop();
    }
  }, 30_000);

  it("an attempt cut off by SIGKILL is recorded as interrupted and made again after the ack wait", async () => {
    let hang = true;
    const r = await suite.startReceiver(() => (hang ? { status: 200, delayMs: 60_000 } : { status: 200 }));
    const env = { NATS_URL: suite.nats.url, HOOKD_TIMEOUT: "1s" };
    const first = await spawnTestHookd(env);
    const created = await api(first.url, "/api/v1/deliveries", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ url: r.url, body: "x" }),
    });
    const { id } = await created.json();
    await r.waitFor(1);
    // Past the quick-attempt window (half of HOOKD_TIMEOUT), the journal shows the attempt in flight.
    await waitForState(first.url, id, "in-flight", 5_000);
    await first.kill("SIGKILL");
    hang = false;
    const second = await spawnTestHookd(env);
    try {
      const view = await waitForState(second.url, id, "delivered", 30_000);
      expect(view.attempts.map((a: { outcome: string }) => a.outcome)).toEqual(["failed", "succeeded"]);
      expect(view.attempts[0].error).toMatch(/attempt interrupted/);
      // The second attempt waited out the first one's lease (HOOKD_TIMEOUT + 10s).
      expect(Date.parse(view.attempts[1].started_at) - Date.parse(view.attempts[0].started_at)).toBeGreaterThanOrEqual(
        10_500,
      );
      expect(r.requests.length).toBeGreaterThanOrEqual(2);
    } finally {
      await second.kill("SIGTERM");
    }
  }, 60_000);

  it("a first attempt cut off by SIGKILL before its start was journaled is made again after the ack wait", async () => {
    let hang = true;
    const r = await suite.startReceiver(() => (hang ? { status: 200, delayMs: 60_000 } : { status: 200 }));
    // A 4 s timeout leaves a 1 s window in which a first attempt's start and outcome are journaled together.
    const env = { NATS_URL: suite.nats.url, HOOKD_TIMEOUT: "4s" };
    const first = await spawnTestHookd(env);
    const created = await api(first.url, "/api/v1/deliveries", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ url: r.url, body: "x" }),
    });
    const { id } = await created.json();
    await r.waitFor(1);
    await first.kill("SIGKILL");
    const killedAt = Date.now();
    hang = false;
    const second = await spawnTestHookd(env);
    try {
      const view = await waitForState(second.url, id, "delivered", 30_000);
      // The cut-off attempt left no record; the delivery was not lost: its work came back after the lease.
      expect(view.attempts.map((a: { outcome: string }) => a.outcome)).toEqual(["succeeded"]);
      expect(r.requests.length).toBeGreaterThanOrEqual(2);
      expect(r.requests[1]!.at - killedAt).toBeGreaterThanOrEqual(10_000);
    } finally {
      await second.kill("SIGTERM");
    }
  }, 60_000);
});
