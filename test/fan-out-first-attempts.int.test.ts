// deno-lint-ignore-file no-explicit-any -- tests read hookd's JSON answers field by field
import { jetstreamManager } from "@nats-io/jetstream";
import { describe, expect, it } from "vitest";
import { createLayout } from "../src/nats/layout.ts";
import {
  api,
  deliveryOf,
  eventually,
  metricOf,
  startTestHookd,
  type TestHookd,
  waitForState,
} from "./support/hookd.ts";
import { journalSubjectsOf } from "./support/delivery-journal.ts";
import type { Receiver } from "./support/receiver.ts";
import { hookdSuite } from "./support/suite.ts";

/**
 * Fan-out makes each delivery by its first attempt (decision records 27 and 31): its first journal message
 * holds its created event with the attempt's start, and its outcome too when the receiver answers within
 * the quick window; no work message is made.
 */

const layout = createLayout();
const suite = hookdSuite({ hookd: "none", connect: true, receiver: false });

async function subscribeMany(hookd: TestHookd, topic: string, url: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const response = await api(hookd.url, "/api/v1/subscriptions", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ topic, url: `${url}/s${i}` }),
    });
    expect(response.status).toBe(201);
    ids.push(((await response.json()) as { id: string }).id);
  }
  return ids;
}

async function publish(hookd: TestHookd, topic: string, body: string): Promise<string> {
  const response = await api(hookd.url, `/pub/${topic}`, { method: "POST", body });
  expect(response.status).toBe(202);
  return ((await response.json()) as { id: string }).id;
}

/** Each delivery id the receiver was sent, with how many times. */
function sendsById(receiver: Receiver): Map<string, number> {
  const sends = new Map<string, number>();
  for (const request of receiver.requests) {
    const id = String(request.headers["webhook-id"]);
    sends.set(id, (sends.get(id) ?? 0) + 1);
  }
  return sends;
}

/**
 * After a hand-back: within 10 s the receiver got a request on each of `paths`, each delivery was sent
 * once, and `hookd` shows each delivered.
 */
async function expectSentOnceEach(receiver: Receiver, hookd: TestHookd, paths: string[]): Promise<void> {
  await receiver.waitFor(paths.length, 10_000);
  await new Promise((resolve) => setTimeout(resolve, 500));
  const sends = sendsById(receiver);
  expect(sends.size).toBe(paths.length);
  expect([...sends.values()].every((count) => count === 1)).toBe(true);
  expect(new Set(receiver.requests.map((request) => request.path))).toEqual(new Set(paths));
  for (const id of sends.keys()) {
    await eventually(
      async () => ((await deliveryOf(hookd.url, id)).state === "delivered" ? true : undefined),
      10_000,
      `delivery ${id} to show delivered`,
    );
  }
}

describe("fan-out by first attempts", () => {
  // One subscriber, the commonest topic, takes the same path as many (record 31).
  it.each([1, 20])(
    "journals each quickly answered delivery of an event to %i subscribers in one message, with no created subject and no work message",
    async (count) => {
      const jsm = await jetstreamManager(suite.nc);
      const receiver = await suite.startReceiver();
      const hookd = await startTestHookd(suite.nats.url);
      const topic = `first/attempts/${count}`;
      try {
        await subscribeMany(hookd, topic, receiver.url, count);
        const eventId = await publish(hookd, topic, "hello");
        await receiver.waitFor(count);
        const ids = [...sendsById(receiver).keys()];
        expect(ids).toHaveLength(count);
        for (const id of ids) await waitForState(hookd.url, id, "delivered");
        for (const id of ids) {
          expect(await journalSubjectsOf(jsm, layout, id)).toEqual({ [layout.subjects.deliveryTransitions(id)]: 1 });
        }
        const work = await jsm.consumers.info(layout.streams.work, layout.consumers.workers);
        expect(work.delivered.stream_seq).toBe(0);
        const view = await deliveryOf(hookd.url, ids.at(-1)!);
        expect(view.history.map((entry: any) => entry.state)).toEqual(["pending", "in-flight", "delivered"]);
        expect(view.replay_mismatch ?? false).toBe(false);
        // The event still names its deliveries, read from their first journal messages.
        const event = (await (await api(hookd.url, `/api/v1/events/${eventId}`)).json()) as any;
        expect(event.deliveries.map((delivery: any) => delivery.id).sort()).toEqual([...ids].sort());
        expect(event.deliveries.every((delivery: any) => delivery.state === "delivered")).toBe(true);
      } finally {
        await hookd.stop();
      }
    },
  );

  it("shows a delivery whose receiver outlasts the quick window in flight while it lasts", async () => {
    const receiver = await suite.startReceiver(() => ({ status: 200, delayMs: 3_000 }));
    // The quick window is HOOKD_TIMEOUT / 2, at most 1 s.
    const hookd = await startTestHookd(suite.nats.url, { HOOKD_TIMEOUT: "10s" });
    try {
      await subscribeMany(hookd, "slow/receivers", receiver.url, 3);
      const eventId = await publish(hookd, "slow/receivers", "take your time");
      const states = async () => {
        const event = (await (await api(hookd.url, `/api/v1/events/${eventId}`)).json()) as any;
        return (event.deliveries ?? []).map((delivery: any) => delivery.state);
      };
      await eventually(
        async () => ((await states()).join() === "in-flight,in-flight,in-flight" ? true : undefined),
        2_800,
        "three deliveries in flight while their receiver holds them",
      );
      await receiver.waitFor(3);
      await eventually(
        async () => ((await states()).join() === "delivered,delivered,delivered" ? true : undefined),
        5_000,
        "three deliveries delivered",
      );
    } finally {
      await hookd.stop();
    }
  });

  it(
    "an event a stopping instance hands back is finished by the next, which sends no delivery twice",
    async () => {
      const receiver = await suite.startReceiver(() => ({ status: 200, delayMs: 40 }));
      // Two attempts at a time (one to this origin, the other waiting), so the fan-out is still going when stopped.
      const first = await startTestHookd(suite.nats.url, { HOOKD_CONCURRENCY: "2" });
      let second: TestHookd | undefined;
      try {
        const subscriptions = await subscribeMany(first, "handed/back", receiver.url, 40);
        await publish(first, "handed/back", "once each");
        await receiver.waitFor(5);
        await first.stop();
        const sentByFirst = receiver.requests.length;
        expect(sentByFirst).toBeLessThan(40);
        second = await startTestHookd(suite.nats.url);
        await expectSentOnceEach(receiver, second, subscriptions.map((_, i) => `/s${i}`));
      } finally {
        await first.stop();
        await second?.stop();
      }
    },
    60_000,
  );

  it(
    "events with one subscriber each that a stopping instance holds unstarted are handed back and sent once by the next",
    async () => {
      const jsm = await jetstreamManager(suite.nc);
      const receiver = await suite.startReceiver(() => ({ status: 200, delayMs: 400 }));
      // One attempt at a time: the fan-out holds several events at once, all but one waiting for that place.
      // An ack wait of 30 s, so an event left to it is told apart from one handed back.
      const settings = { HOOKD_TIMEOUT: "20s" };
      const first = await startTestHookd(suite.nats.url, { ...settings, HOOKD_CONCURRENCY: "1" });
      let second: TestHookd | undefined;
      const topics = Array.from({ length: 6 }, (_, i) => `alone/t${i}`);
      try {
        for (const [i, topic] of topics.entries()) {
          const response = await api(first.url, "/api/v1/subscriptions", {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ topic, url: `${receiver.url}/t${i}` }),
          });
          expect(response.status).toBe(201);
        }
        // Marks are counted before and after: an earlier test in this file leaves one of its own.
        const marks = async () =>
          Object.keys(
            (await jsm.streams.info(layout.streams.journal, {
              subjects_filter: layout.subjects.fanOutLeft(0).replace(/0$/, ">"),
            })).state.subjects ?? {},
          ).length;
        const marksBefore = await marks();
        for (const topic of topics) await publish(first, topic, "once");
        await receiver.waitFor(1);
        await first.stop();
        const sentByFirst = receiver.requests.length;
        expect(sentByFirst).toBeLessThan(topics.length);
        // The instance marked each event it left (handBack), so the next journals each start before sending.
        expect(await marks()).toBe(marksBefore + topics.length - sentByFirst);
        second = await startTestHookd(suite.nats.url, settings);
        // Within 10 s, well within the ack wait (HOOKD_TIMEOUT + 10 s): a hand-back that went to the stopped
        // instance's pull waited it out.
        await expectSentOnceEach(receiver, second, topics.map((_, i) => `/t${i}`));
      } finally {
        await first.stop();
        await second?.stop();
      }
    },
    60_000,
  );

  it("counts the first attempts it is making on /metrics, apart from the work queue's", async () => {
    const receiver = await suite.startReceiver(() => ({ status: 200, delayMs: 1_000 }));
    const hookd = await startTestHookd(suite.nats.url);
    try {
      await subscribeMany(hookd, "counted/attempts", receiver.url, 5);
      expect(await metricOf(hookd.url, "hookd_first_attempts_in_progress")).toBe(0);
      await publish(hookd, "counted/attempts", "slow");
      await eventually(
        async () => ((await metricOf(hookd.url, "hookd_first_attempts_in_progress")) === 5 ? true : undefined),
        5_000,
        "five first attempts in progress",
      );
      expect(await metricOf(hookd.url, "hookd_work_in_progress")).toBe(0);
      await receiver.waitFor(5);
      await eventually(
        async () => ((await metricOf(hookd.url, "hookd_first_attempts_in_progress")) === 0 ? true : undefined),
        5_000,
        "the first attempts to end",
      );
    } finally {
      await hookd.stop();
    }
  });
});
