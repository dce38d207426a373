import { describe, expect, it } from "vitest";
import type { Receiver } from "./support/receiver.ts";
import { api, deliveryOf, eventually, spawnTestHookd, startTestHookd, waitForState } from "./support/hookd.ts";
import { hookdSuite } from "./support/suite.ts";

// Each test starts its own hookd instances (child processes it kills, or two at once) and receivers.
const suite = hookdSuite({ hookd: "none", receiver: false });

/** Bodies are "n=<i>"; the set of distinct bodies the receiver saw tells which deliveries arrived. */
function distinctBodies(r: Receiver): Set<string> {
  return new Set(r.requests.map((request) => request.body.toString()));
}

describe("durability", () => {
  it("SIGKILL with 500 deliveries pending loses none: after a restart all 500 arrive", async () => {
    const r = await suite.startReceiver(() => ({ status: 200, delayMs: 20 }));
    const env = { NATS_URL: suite.nats.url, HOOKD_CONCURRENCY: "4", HOOKD_INSTANCE_ID: "first" };
    const first = await spawnTestHookd(env);
    const ids: string[] = [];
    const target = encodeURIComponent(`${r.url}/durable`);
    for (let batch = 0; batch < 10; batch++) {
      const responses = await Promise.all(
        Array.from(
          { length: 50 },
          (_, i) => api(first.url, `/dispatch?_url=${target}`, { method: "POST", body: `n=${batch * 50 + i}` }),
        ),
      );
      for (const response of responses) {
        expect(response.status).toBe(202);
        ids.push((await response.json()).id);
      }
    }
    await first.kill("SIGKILL");
    const beforeRestart = distinctBodies(r).size;
    expect(beforeRestart).toBeLessThan(500);

    const second = await spawnTestHookd({ ...env, HOOKD_CONCURRENCY: "64", HOOKD_INSTANCE_ID: "second" });
    try {
      await eventually(async () => distinctBodies(r).size === 500, 60_000, "all 500 deliveries to arrive");
      for (let i = 0; i < 500; i++) expect(distinctBodies(r).has(`n=${i}`)).toBe(true);
      const sample = await Promise.all(
        ids.filter((_, i) => i % 25 === 0).map((id) => waitForState(second.url, id, "delivered", 30_000)),
      );
      expect(sample.every((view) => view.state === "delivered")).toBe(true);
    } finally {
      await second.kill("SIGTERM");
    }
  }, 120_000);

  it("two instances on one NATS share the work, and every delivery arrives at least once", async () => {
    const r = await suite.startReceiver(() => ({ status: 200, delayMs: 5 }));
    const a = await startTestHookd(suite.nats.url, { HOOKD_INSTANCE_ID: "instance-a", HOOKD_CONCURRENCY: "8" });
    const b = await startTestHookd(suite.nats.url, { HOOKD_INSTANCE_ID: "instance-b", HOOKD_CONCURRENCY: "8" });
    try {
      const ids: string[] = [];
      for (let i = 0; i < 200; i++) {
        const via = i % 2 === 0 ? a : b;
        const response = await api(via.url, `/dispatch?_url=${encodeURIComponent(`${r.url}/shared`)}`, {
          method: "POST",
          body: `n=${i}`,
        });
        expect(response.status).toBe(202);
        ids.push((await response.json()).id);
      }
      await eventually(async () => distinctBodies(r).size === 200, 30_000, "all 200 deliveries to arrive");
      const workers = new Set<string>();
      for (const id of ids) {
        const view = await waitForState(a.url, id, "delivered");
        workers.add(view.attempts.at(-1).worker);
      }
      expect(workers).toEqual(new Set(["instance-a", "instance-b"]));
    } finally {
      await a.stop();
      await b.stop();
    }
  }, 60_000);

  it("answers 503 with Retry-After while NATS is down, accepts nothing, and recovers", async () => {
    const r = await suite.startReceiver();
    const hookd = await startTestHookd(suite.nats.url);
    try {
      await suite.nats.pause();
      await eventually(
        async () => (await fetch(`${hookd.url}/healthz`)).status === 503,
        10_000,
        "health to report NATS down",
      );
      const refused = await api(hookd.url, `/dispatch?_url=${encodeURIComponent(r.url)}`, {
        method: "POST",
        body: "while down",
      });
      expect(refused.status).toBe(503);
      expect(refused.headers.get("retry-after")).toBe("5");
      expect((await refused.json()).type).toBe("urn:hookd:problem:storage-unavailable");

      await suite.nats.restart();
      const accepted = await eventually(
        async () => {
          const response = await api(hookd.url, `/dispatch?_url=${encodeURIComponent(r.url)}`, {
            method: "POST",
            body: "after",
          });
          return response.status === 202 ? response : undefined;
        },
        20_000,
        "hookd to accept again",
      );
      const { id } = await accepted.json();
      await waitForState(hookd.url, id, "delivered");
      expect(r.requests.map((request) => request.body.toString())).toEqual(["after"]);
      expect((await deliveryOf(hookd.url, id)).state).toBe("delivered");
    } finally {
      await hookd.stop();
    }
  }, 60_000);
});
