import { jetstream } from "@nats-io/jetstream";
import { describe, expect, it } from "vitest";
import { api, deliveryOf, eventually, spawnTestHookd, startTestHookd, waitForState } from "./support/hookd.ts";
import { hookdSuite } from "./support/suite.ts";
import { createLayout } from "../src/nats/layout.ts";

const layout = createLayout();

// Each test starts its own hookd: one with a slow retry schedule, or child processes it kills.
const suite = hookdSuite({ hookd: "none", receiver: false, connect: true });

/** A hookd child process with a delivery on the wire to a receiver that hangs until told to stop. */
async function deliveryOnTheWire(timeout: string) {
  let hang = true;
  const r = await suite.startReceiver(() => (hang ? { status: 200, delayMs: 60_000 } : { status: 200 }));
  const env = { NATS_URL: suite.nats.url, HOOKD_TIMEOUT: timeout };
  const first = await spawnTestHookd(env);
  const created = await api(first.url, "/api/v1/deliveries", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ url: r.url, body: "x" }),
  });
  const { id } = await created.json();
  await r.waitFor(1);
  return { r, env, first, id: id as string, stopHanging: () => (hang = false) };
}

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
    const { r, env, first, id, stopHanging } = await deliveryOnTheWire("1s");
    // Past the quick-attempt window (half of HOOKD_TIMEOUT), the journal shows the attempt in flight.
    await waitForState(first.url, id, "in-flight", 5_000);
    await first.kill("SIGKILL");
    stopHanging();
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
    // A 4 s timeout leaves a 1 s window in which a first attempt's start and outcome are journaled together.
    const { r, env, first, id, stopHanging } = await deliveryOnTheWire("4s");
    await first.kill("SIGKILL");
    const killedAt = Date.now();
    stopHanging();
    const second = await spawnTestHookd(env);
    try {
      const view = await waitForState(second.url, id, "delivered", 30_000);
      // The delivery was not lost: its work came back after the lease. The cut-off attempt left no
      // record, unless this machine was slow enough for its quick window to pass before the kill.
      const outcomes = view.attempts.map((a: { outcome: string }) => a.outcome);
      expect([["succeeded"], ["failed", "succeeded"]]).toContainEqual(outcomes);
      if (outcomes.length === 2) expect(view.attempts[0].error).toMatch(/attempt interrupted/);
      expect(r.requests.length).toBeGreaterThanOrEqual(2);
      expect(r.requests[1]!.at - killedAt).toBeGreaterThanOrEqual(10_000);
    } finally {
      await second.kill("SIGTERM");
    }
  }, 60_000);

  it(
    "a delivery cancelled while queued is never sent; one cancelled during its first attempt shows that attempt",
    async () => {
      const r = await suite.startReceiver(() => ({ status: 200, delayMs: 600 }));
      const accepting = await startTestHookd(suite.nats.url, { HOOKD_WORKERS: "off" });
      const create = async (base: string) =>
        (await (await api(base, "/api/v1/deliveries", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ url: r.url, body: "x" }),
        })).json()).id as string;
      const queued = await create(accepting.url);
      expect((await api(accepting.url, `/api/v1/deliveries/${queued}/cancel`, { method: "POST" })).status).toBe(200);
      await accepting.stop();
      const hookd = await startTestHookd(suite.nats.url);
      try {
        const onTheWire = await create(hookd.url);
        await r.waitFor(1);
        // While the first attempt is out: a retry leaves the queued delivery alone, a cancel is recorded after it.
        await api(hookd.url, `/api/v1/deliveries/${onTheWire}/retry`, { method: "POST" });
        expect((await api(hookd.url, `/api/v1/deliveries/${onTheWire}/cancel`, { method: "POST" })).status).toBe(200);
        const view = await eventually(
          async () => {
            const current = await deliveryOf(hookd.url, onTheWire);
            return current.attempts.length === 1 && current.attempts[0].outcome === "succeeded" ? current : undefined;
          },
          10_000,
          "the attempt's outcome after the cancel",
        );
        expect(view.state).toBe("cancelled");
        expect(view.history.map((entry: { type: string }) => entry.type)).toEqual(
          expect.arrayContaining([
            "delivery.created",
            "delivery.cancel-requested",
            "attempt.started",
            "attempt.succeeded",
          ]),
        );
        await new Promise((resolve) => setTimeout(resolve, 1_500));
        // One request for the delivery on the wire, none for the one cancelled while queued.
        expect(r.requests).toHaveLength(1);
        expect((await deliveryOf(hookd.url, queued)).attempts).toEqual([]);
      } finally {
        await hookd.stop();
      }
    },
    30_000,
  );
});
