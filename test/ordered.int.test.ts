// deno-lint-ignore-file no-explicit-any -- tests read hookd's JSON answers field by field
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { headers } from "@nats-io/transport-node";
import { describe, expect, it } from "vitest";
import { DeliverySecrets } from "../src/domain/delivery-secrets.ts";
import { SecretBox } from "../src/domain/secret-box.ts";
import { DeliveryStore } from "../src/nats/delivery-store.ts";
import { JetStreamPublisher } from "../src/nats/jetstream-publisher.ts";
import { createLayout } from "../src/nats/layout.ts";
import { DeliveryCommands } from "../src/runtime/delivery-commands.ts";
import { api, deliveryOf, eventually, TEST_KEY } from "./support/hookd.ts";
import type { Answer, Responder } from "./support/receiver.ts";
import { hookdSuite } from "./support/suite.ts";

// A long attempt timeout, so a receiver can hold the head of a line for as long as a test needs.
const suite = hookdSuite({ receiver: false, connect: true, env: { HOOKD_TIMEOUT: "30s" } });

async function subscribe(body: Record<string, unknown>) {
  const response = await api(suite.hookd.url, "/api/v1/subscriptions", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { response, json: (await response.json()) as Record<string, any> };
}

async function publish(topic: string, body: string): Promise<{ id: string; seq: number }> {
  const response = await api(suite.hookd.url, `/pub/${topic}`, {
    method: "POST",
    headers: { "content-type": "text/plain" },
    body,
  });
  expect(response.status).toBe(202);
  return (await response.json()) as { id: string; seq: number };
}

async function subscriptionOf(id: string): Promise<Record<string, any>> {
  return (await api(suite.hookd.url, `/api/v1/subscriptions/${id}`)).json();
}

/** A responder that holds every request until `release()`. */
function gate(): { respond: Responder; release(): void } {
  let open: () => void = () => {};
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { respond: async (): Promise<Answer> => (await opened, { status: 200 }), release: () => open() };
}

const bodiesOf = (requests: { body: Buffer }[]) => requests.map((request) => request.body.toString());
const quiet = (ms = 500) => new Promise((resolve) => setTimeout(resolve, ms));

describe("ordered subscriptions", () => {
  it(
    "hold each event until the one before it is delivered, and no other subscription on the topic is held up",
    async () => {
      const held = gate();
      const slow = await suite.startReceiver(held.respond);
      const fast = await suite.startReceiver();
      const fastInOrder = await suite.startReceiver();
      const ordered = await subscribe({ topic: "orders", url: slow.url, dialect: "plain", ordered: true });
      expect(ordered.response.status).toBe(201);
      expect(ordered.json.ordered).toBe(true);
      const unordered = await subscribe({ topic: "orders", url: fast.url, dialect: "plain" });
      expect(unordered.json.ordered).toBe(false);
      // Another ordered subscription of the same topic has a line of its own.
      const otherLine = await subscribe({ topic: "orders", url: fastInOrder.url, dialect: "plain", ordered: true });
      const events = [];
      for (let i = 0; i < 20; i++) events.push(await publish("orders", String(i)));

      // The unordered subscription gets all twenty while the ordered one's head is still held, and
      // the other ordered one all twenty in order.
      expect(new Set(bodiesOf(await fast.waitFor(20, 30_000)))).toEqual(new Set(events.map((_, i) => String(i))));
      expect(bodiesOf(await fastInOrder.waitFor(20, 30_000))).toEqual(events.map((_, i) => String(i)));
      await quiet();
      expect(bodiesOf(slow.requests)).toEqual(["0"]);

      const view = await eventually(
        async () => {
          const current = await subscriptionOf(ordered.json.id);
          return current.ordered_line?.head?.state === "in-flight" ? current : undefined;
        },
        10_000,
        "the head to show in flight",
      );
      expect(view.ordered_line).toMatchObject({
        head: { event_id: events[0]!.id, topic_seq: events[0]!.seq },
        waiting: 19,
      });
      expect(view.ordered_line.head.delivery_id).toMatch(/^dlv_/);
      // The events behind the head have no delivery yet: nothing was attempted, no retry used.
      const first = await (await api(suite.hookd.url, `/api/v1/events/${events[1]!.id}`)).json();
      expect(new Set(first.deliveries.map((d: { subscription_id: string }) => d.subscription_id)))
        .toEqual(new Set([unordered.json.id, otherLine.json.id]));

      held.release();
      expect(bodiesOf(await slow.waitFor(20, 30_000))).toEqual(events.map((_, i) => String(i)));
      const idle = await eventually(
        async () => {
          const current = await subscriptionOf(ordered.json.id);
          return current.ordered_line?.head?.state === "delivered" && current.ordered_line.waiting === 0
            ? current
            : undefined;
        },
        10_000,
        "the line to be idle at its last event",
      );
      expect(idle.ordered_line.head.event_id).toBe(events[19]!.id);
      await quiet();
      expect(slow.requests).toHaveLength(20);
      // An unordered subscription has no line.
      expect((await subscriptionOf(unordered.json.id)).ordered_line).toBeNull();
    },
    90_000,
  );

  it("a head that finally fails releases the next event and stays visible as failed", async () => {
    const r = await suite.startReceiver((request) => ({ status: request.body.toString() === "1" ? 500 : 200 }));
    const { json } = await subscribe({
      topic: "ledger",
      url: r.url,
      dialect: "plain",
      ordered: true,
      retry_schedule: "100ms",
    });
    const events = [];
    for (let i = 0; i < 3; i++) events.push(await publish("ledger", String(i)));
    // Two attempts of "1" (the schedule allows one retry), and only then "2".
    expect(bodiesOf(await r.waitFor(4, 30_000))).toEqual(["0", "1", "1", "2"]);
    const event = await (await api(suite.hookd.url, `/api/v1/events/${events[1]!.id}`)).json();
    const failed = await deliveryOf(suite.hookd.url, event.deliveries[0].id);
    expect(failed.state).toBe("failed");
    expect(failed.attempts.map((a: { outcome: string }) => a.outcome)).toEqual(["failed", "failed"]);
    const view = await eventually(
      async () => {
        const current = await subscriptionOf(json.id);
        return current.ordered_line?.head?.state === "delivered" ? current : undefined;
      },
      10_000,
      "the line to reach its last event",
    );
    expect(view.ordered_line.head.event_id).toBe(events[2]!.id);
  }, 60_000);

  it("a head whose journal this hookd cannot read (damaged) shows as unreadable; its subscription, its event and the topic's other subscribers go on", async () => {
    const r = await suite.startReceiver();
    const { json } = await subscribe({ topic: "ledger/unreadable", url: r.url, dialect: "plain", ordered: true });
    const event = await publish("ledger/unreadable", "0");
    await r.waitFor(1);
    await eventually(
      async () => (await subscriptionOf(json.id)).ordered_line?.head?.state === "delivered" || undefined,
      10_000,
      "the head delivered",
    );
    const deliveryId = (await (await api(suite.hookd.url, `/api/v1/events/${event.id}`)).json()).deliveries[0].id;
    // A damaged message (a newer hookd's event type alone would not do: a head's state is read from its step's
    // snapshot, which this hookd understands).
    const stateHeader = headers();
    stateHeader.set("Hookd-State", "delivered");
    await jetstream(suite.nc).publish(createLayout().subjects.deliveryTransitions(deliveryId), '{"steps": [', {
      headers: stateHeader,
    });
    const subscription = await api(suite.hookd.url, `/api/v1/subscriptions/${json.id}`);
    expect(subscription.status).toBe(200);
    expect((await subscription.json()).ordered_line.head).toMatchObject({
      delivery_id: deliveryId,
      state: "unreadable",
    });
    const view = await api(suite.hookd.url, `/api/v1/events/${event.id}`);
    expect(view.status).toBe(200);
    expect((await view.json()).deliveries).toMatchObject([{
      id: deliveryId,
      subscription_id: json.id,
      state: "unreadable",
    }]);
    // The line waits on its head; the topic's other subscribers still get its next event.
    const other = await suite.startReceiver();
    await subscribe({ topic: "ledger/unreadable", url: other.url, dialect: "plain" });
    await publish("ledger/unreadable", "1");
    expect(bodiesOf(await other.waitFor(1, 10_000))).toEqual(["1"]);
    await quiet();
    expect(r.requests).toHaveLength(1);
  });

  it("a head cancelled in backoff releases the next event at once, not at the next sweep", async () => {
    const receiver = await suite.startReceiver((request) => ({ status: request.body.toString() === "0" ? 500 : 200 }));
    const { json: sub } = await subscribe({
      topic: "ordered/cancel",
      url: receiver.url,
      dialect: "plain",
      ordered: true,
      retry_schedule: "1h",
    });
    for (const body of ["0", "1"]) await publish("ordered/cancel", body);
    await receiver.waitFor(1);
    const view = await eventually(
      async () => {
        const found = await subscriptionOf(sub.id);
        return found.ordered_line?.head?.state === "backoff" ? found : undefined;
      },
      10_000,
      "the head in backoff",
    );
    const cancelled = await api(suite.hookd.url, `/api/v1/deliveries/${view.ordered_line.head.delivery_id}/cancel`, {
      method: "POST",
    });
    expect(cancelled.status).toBe(200);
    // The sweep runs every 10 s; the cancel itself moves the line, well within that.
    await receiver.waitFor(2, 6_000);
    expect(bodiesOf(receiver.requests)).toEqual(["0", "1"]);
  });

  it("a head cancelled by a bulk action releases the next event at once too", async () => {
    const receiver = await suite.startReceiver((request) => ({ status: request.body.toString() === "0" ? 500 : 200 }));
    const { json: sub } = await subscribe({
      topic: "ordered/bulk-cancel",
      url: receiver.url,
      dialect: "plain",
      ordered: true,
      retry_schedule: "1h",
    });
    for (const body of ["0", "1"]) await publish("ordered/bulk-cancel", body);
    await receiver.waitFor(1);
    const head = await eventually(
      async () => {
        const found = await subscriptionOf(sub.id);
        return found.ordered_line?.head?.state === "backoff" ? found.ordered_line.head : undefined;
      },
      10_000,
      "the head in backoff",
    );
    // Every cancel goes through DeliveryCommands.cancel, which tells the line: shown on a command of
    // our own, since the sweep would also move the line within the seconds a bulk job takes.
    const released: string[] = [];
    const commands = new DeliveryCommands({
      store: new DeliveryStore(
        jetstream(suite.nc),
        await jetstreamManager(suite.nc),
        new JetStreamPublisher(suite.nc),
        createLayout({ replicas: 1 }),
      ),
      secrets: new DeliverySecrets(await SecretBox.fromKeys(TEST_KEY)),
      clock: Date.now,
      randomBytes: (length) => crypto.getRandomValues(new Uint8Array(length)),
      schedule: [60_000],
    });
    commands.releaseOrderedLinesWith(async (subscriptionId) => void released.push(subscriptionId));
    expect(await commands.cancel(head.delivery_id)).toBe("cancelled");
    expect(released).toEqual([sub.id]);
    // And hookd's own bulk job, on the next head, moves the line on to the third event.
    const third = await publish("ordered/bulk-cancel", "0");
    await receiver.waitFor(3, 15_000);
    const next = await eventually(
      async () => {
        const found = await subscriptionOf(sub.id);
        const line = found.ordered_line?.head;
        return line?.event_id === third.id && line.state === "backoff" ? line : undefined;
      },
      10_000,
      "the third event's head in backoff",
    );
    // The bulk action acts on what the list shows: wait until it lists that head in backoff.
    await eventually(
      async () => {
        const listed = await api(suite.hookd.url, `/api/v1/deliveries?subscription_id=${sub.id}&state=backoff`);
        const ids = ((await listed.json()) as { data: { id: string }[] }).data.map((row) => row.id);
        return ids.length === 1 && ids[0] === next.delivery_id ? true : undefined;
      },
      10_000,
      "the head listed in backoff, alone",
    );
    await publish("ordered/bulk-cancel", "3");
    const started = await api(suite.hookd.url, "/api/v1/deliveries/bulk", {
      method: "POST",
      body: JSON.stringify({ action: "cancel", filter: { subscription_id: sub.id, state: "backoff" } }),
    });
    expect(started.status).toBe(202);
    await receiver.waitFor(4, 10_000);
    expect(bodiesOf(receiver.requests)).toEqual(["0", "1", "0", "3"]);
  });

  it("keeps its order under a rate limit: one at a time, and no faster than the limit", async () => {
    const r = await suite.startReceiver();
    await subscribe({ topic: "metered", url: r.url, dialect: "plain", ordered: true, rate_limit: 4 });
    for (let i = 0; i < 6; i++) await publish("metered", String(i));
    const requests = await r.waitFor(6, 30_000);
    expect(bodiesOf(requests)).toEqual(["0", "1", "2", "3", "4", "5"]);
    // GCRA at 4/s: the sixth slot comes 1.25 s after the first.
    expect(requests[5]!.at - requests[0]!.at).toBeGreaterThanOrEqual(1_000);
  }, 60_000);

  it(
    "a recursive ordered subscription takes the topics below it in the log's order, and only its event types",
    async () => {
      const r = await suite.startReceiver();
      await subscribe({ topic: "books/", url: r.url, dialect: "plain", ordered: true, event_types: ["entry.made"] });
      const typed = (topic: string, body: string, type: string) =>
        api(suite.hookd.url, `/pub/${topic}`, {
          method: "POST",
          headers: { "content-type": "text/plain", "hookd-event-type": type },
          body,
        });
      const topics = ["books/eu", "books/us", "books/eu/de", "booksx", "books/us"];
      for (const [i, topic] of topics.entries()) {
        expect((await typed(topic, String(i), i === 1 ? "entry.void" : "entry.made")).status).toBe(202);
      }
      expect(bodiesOf(await r.waitFor(3, 30_000))).toEqual(["0", "2", "4"]);
      await quiet();
      expect(r.requests).toHaveLength(3);
    },
    60_000,
  );

  it("a paused line holds its events, counts them as waiting, and delivers them in order once activated", async () => {
    const r = await suite.startReceiver();
    const { json } = await subscribe({ topic: "paused-line", url: r.url, dialect: "plain", ordered: true });
    const path = `/api/v1/subscriptions/${json.id}`;
    expect((await api(suite.hookd.url, `${path}/deactivate`, { method: "POST" })).status).toBe(200);
    for (let i = 0; i < 3; i++) await publish("paused-line", String(i));
    await quiet();
    expect(r.requests).toHaveLength(0);
    expect((await subscriptionOf(json.id)).ordered_line).toEqual({ head: null, waiting: 3 });
    expect((await api(suite.hookd.url, `${path}/activate`, { method: "POST" })).status).toBe(200);
    expect(bodiesOf(await r.waitFor(3, 30_000))).toEqual(["0", "1", "2"]);
  }, 60_000);

  it("refuses an ordered that is not a boolean, and a change of it after creation, with a problem", async () => {
    const r = await suite.startReceiver();
    const bad = await subscribe({ topic: "orders", url: r.url, ordered: "yes" });
    expect(bad.response.status).toBe(400);
    expect(bad.response.headers.get("content-type")).toMatch(/application\/problem\+json/);
    expect(bad.json.detail).toMatch(/ordered is true or false/);
    const { json } = await subscribe({ topic: "orders", url: r.url, dialect: "plain" });
    const patch = (body: unknown) =>
      api(suite.hookd.url, `/api/v1/subscriptions/${json.id}`, {
        method: "PATCH",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    const changed = await patch({ ordered: true });
    expect(changed.status).toBe(400);
    expect((await changed.json()).detail).toMatch(/ordered is fixed when a subscription is created/);
    expect((await patch({ ordered: false, description: "same order" })).status).toBe(200);
  });
});
