// deno-lint-ignore-file no-explicit-any -- tests read hookd's JSON answers field by field
import { Webhook } from "standardwebhooks";
import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { fanOutDeliveryId } from "../src/runtime/fan-out.ts";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { headers } from "@nats-io/transport-node";
import { capturedLog } from "./support/captured-log.ts";
import type { Responder } from "./support/receiver.ts";
import { api, eventually, startTestHookd, waitForListed, waitForState } from "./support/hookd.ts";
import { hookdSuite } from "./support/suite.ts";
import { createLayout } from "../src/nats/layout.ts";
import { DeliveryListing } from "../src/nats/delivery-listing.ts";
import { DeliveryStore } from "../src/nats/delivery-store.ts";
import { JetStreamPublisher } from "../src/nats/jetstream-publisher.ts";
import { SubscriptionAttempts } from "../src/runtime/subscription-attempts.ts";

const layout = createLayout();

const suite = hookdSuite({
  env: { HOOKD_FAILURE_THRESHOLD: "2", HOOKD_PUBLIC_URL: "https://hooks.example.org" },
  connect: true,
});
const receiver = (respond?: Responder) => suite.startReceiver(respond);

async function subscribe(body: Record<string, unknown>) {
  const response = await api(suite.hookd.url, "/api/v1/subscriptions", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { response, json: (await response.json()) as Record<string, any> };
}

async function publish(topic: string, body: string, headers: Record<string, string> = {}) {
  const response = await api(suite.hookd.url, `/pub/${topic}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body,
  });
  expect(response.status).toBe(202);
  return (await response.json()) as { id: string; seq: number };
}

const quiet = (ms = 400) => new Promise((resolve) => setTimeout(resolve, ms));

/** A subscription's attempt list (`query` after the path), once it holds `count` attempts. */
function attemptsOnce(subscriptionId: string, count: number, query = ""): Promise<any[]> {
  return eventually(
    async () => {
      const page = await (await api(suite.hookd.url, `/api/v1/subscriptions/${subscriptionId}/attempts${query}`))
        .json();
      return page.data.length === count ? page.data : undefined;
    },
    10_000,
    `${count} attempts for ${query || "no limit"}`,
  );
}

describe("subscriptions and fan-out", () => {
  it("one event reaches three subscriptions as three signed deliveries", async () => {
    const subscribers = await Promise.all([receiver(), receiver(), receiver()]);
    const secrets: string[] = [];
    for (const r of subscribers) {
      const { response, json } = await subscribe({ topic: "shop/orders", url: `${r.url}/hook`, owner: "shop-team" });
      expect(response.status).toBe(201);
      expect(response.headers.get("location")).toBe(`/api/v1/subscriptions/${json.id}`);
      expect(json.state).toBe("active");
      expect(json.secret).toMatch(/^whsec_/);
      secrets.push(json.secret);
    }
    const event = await publish("shop/orders", '{"order":1}', { "hookd-event-type": "order.created" });
    for (const [i, r] of subscribers.entries()) {
      const [request] = await r.waitFor(1);
      expect(request!.headers["hookd-topic"]).toBe("shop/orders");
      expect(request!.headers["hookd-event-id"]).toBe(event.id);
      expect(request!.headers["hookd-event-type"]).toBe("order.created");
      expect(new Webhook(secrets[i]!).verify(request!.body.toString(), request!.headers as Record<string, string>))
        .toEqual({ order: 1 });
    }
    expect(new Set(subscribers.map((r) => r.requests[0]!.headers["webhook-id"])).size).toBe(3);
    // Later reads never show the secret.
    const { id } = (await (await api(suite.hookd.url, "/api/v1/subscriptions?owner=shop-team")).json()).data[0];
    const read = await (await api(suite.hookd.url, `/api/v1/subscriptions/${id}`)).json();
    expect(read.secret).toBeUndefined();
    expect(JSON.stringify(read)).not.toContain("whsec_");
  });

  it("a recursive subscription gets events from topics below it, not from siblings", async () => {
    const r = await receiver();
    await subscribe({ topic: "foo/", url: r.url, dialect: "plain" });
    await publish("foo/bar", '"below"');
    await publish("foo/bar/baz", '"deeper"');
    await publish("foobar", '"sibling"');
    await publish("foo", '"itself"');
    await r.waitFor(2);
    await quiet();
    expect(r.requests.map((request) => request.body.toString()).sort()).toEqual(['"below"', '"deeper"']);
    expect(r.requests[0]!.headers["webhook-signature"]).toBeUndefined();
  });

  it("a subscription with event_types only gets those", async () => {
    const r = await receiver();
    await subscribe({ topic: "crm", url: r.url, event_types: ["contact.create"], dialect: "plain" });
    await publish("crm", '"a"', { "hookd-event-type": "contact.delete" });
    await publish("crm", '"b"', { "hookd-event-type": "contact.create" });
    await publish("crm", '"c"');
    await r.waitFor(1);
    await quiet();
    expect(r.requests.map((request) => request.body.toString())).toEqual(['"b"']);
  });

  it("deactivate stops deliveries and activate resumes them", async () => {
    const r = await receiver();
    const { json } = await subscribe({ topic: "toggle", url: r.url, dialect: "plain" });
    const off = await api(suite.hookd.url, `/api/v1/subscriptions/${json.id}/deactivate`, { method: "POST" });
    expect((await off.json()).state).toBe("paused");
    await publish("toggle", '"while paused"');
    await quiet();
    expect(r.requests).toHaveLength(0);
    const on = await api(suite.hookd.url, `/api/v1/subscriptions/${json.id}/activate`, { method: "POST" });
    expect((await on.json()).state).toBe("active");
    await publish("toggle", '"after"');
    await r.waitFor(1);
    expect(r.requests.map((request) => request.body.toString())).toEqual(['"after"']);
  });

  it("the websub dialect signs with X-Hub-Signature over the body", async () => {
    const r = await receiver();
    await subscribe({ topic: "feed", url: r.url, dialect: "websub", secret: "hub-secret" });
    await publish("feed", '{"entry":1}');
    const [request] = await r.waitFor(1);
    const expected = "sha256=" + createHmac("sha256", "hub-secret").update(request!.body).digest("hex");
    expect(request!.headers["x-hub-signature"]).toBe(expected);
    expect(request!.headers.link).toBe(
      '<https://hooks.example.org/hub>; rel="hub", <https://hooks.example.org/sub/feed>; rel="self"',
    );
  });

  it("update moves deliveries to the new URL; delete unsubscribes for good", async () => {
    const first = await receiver();
    const second = await receiver();
    const { json } = await subscribe({ topic: "moving", url: first.url, dialect: "plain" });
    const patched = await api(suite.hookd.url, `/api/v1/subscriptions/${json.id}`, {
      method: "PATCH",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ url: second.url, description: "moved" }),
    });
    expect(patched.status).toBe(200);
    expect((await patched.json()).description).toBe("moved");
    await publish("moving", '"x"');
    await second.waitFor(1);
    expect(first.requests).toHaveLength(0);

    expect((await api(suite.hookd.url, `/api/v1/subscriptions/${json.id}`, { method: "DELETE" })).status).toBe(204);
    expect((await (await api(suite.hookd.url, `/api/v1/subscriptions/${json.id}`)).json()).state).toBe("unsubscribed");
    await publish("moving", '"y"');
    await quiet();
    expect(second.requests).toHaveLength(1);
    const again = await api(suite.hookd.url, `/api/v1/subscriptions/${json.id}/activate`, { method: "POST" });
    expect(again.status).toBe(409);
    const listed = (await (await api(suite.hookd.url, "/api/v1/subscriptions?topic=moving")).json()).data;
    expect(listed).toEqual([]);
  });

  it("lists with filters and a cursor", async () => {
    const r = await receiver();
    for (let i = 0; i < 3; i++) await subscribe({ topic: "listed", url: r.url, owner: "lister", dialect: "plain" });
    const first = await (await api(suite.hookd.url, "/api/v1/subscriptions?owner=lister&limit=2")).json();
    expect(first.data).toHaveLength(2);
    const second =
      await (await api(suite.hookd.url, `/api/v1/subscriptions?owner=lister&limit=2&cursor=${first.next_cursor}`))
        .json();
    expect(second.data).toHaveLength(1);
    expect(second.next_cursor).toBeNull();
    expect((await (await api(suite.hookd.url, "/api/v1/subscriptions?topic=listed&state=paused")).json()).data).toEqual(
      [],
    );
  });

  it("bad requests name the field; unknown ids are 404", async () => {
    const r = await receiver();
    const cases: [Record<string, unknown>, number, RegExp][] = [
      [{ url: r.url }, 400, /topic is required/],
      [{ topic: "a//b", url: r.url }, 400, /topic: .*empty segment/],
      [{ topic: "ok", url: "ftp://x" }, 400, /http or https/],
      [{ topic: "ok", url: "http://10.0.0.1/" }, 422, /HOOKD_ALLOWED_NETWORKS/],
      [{ topic: "ok", url: r.url, secret: "nope" }, 400, /Standard Webhooks secret/],
      [{ topic: "ok", url: r.url, dialect: "plain", secret: "x" }, 400, /not signed/],
      [{ topic: "ok", url: r.url, event_types: ["bad type"] }, 400, /event_types/],
      [{ topic: "ok", url: r.url, retry_schedule: "soon" }, 400, /^retry_schedule: "soon" is not a duration/],
      [{ topic: "ok", url: r.url, retry_schedule: "5s,31d" }, 400, /^retry_schedule: has a delay over 30d/],
      [
        { topic: "ok", url: r.url, retry_schedule: "99999999999999d" },
        400,
        /^retry_schedule: "99999999999999d" is longer than 36500d$/,
      ],
      [{ topic: "ok", url: r.url, rate_limit: 0 }, 400, /rate_limit must be above 0/],
    ];
    for (const [body, status, detail] of cases) {
      const { response, json } = await subscribe(body);
      expect(response.status, JSON.stringify(body)).toBe(status);
      expect(json.detail, JSON.stringify(body)).toMatch(detail);
    }
    expect((await api(suite.hookd.url, "/api/v1/subscriptions/sub_01ARZ3NDEKTSV4RRFFQ69G5FAV")).status).toBe(404);
    expect((await api(suite.hookd.url, "/api/v1/subscriptions/nope/activate", { method: "POST" })).status).toBe(404);
  });

  it("a 410 disables the subscription at once, and the owner hears of it on the system topic", async () => {
    const watcher = await receiver();
    await subscribe({
      topic: "hookd/system/subscriptions",
      url: watcher.url,
      dialect: "plain",
      event_types: ["subscription.disabled"],
    });
    const gone = await receiver(() => ({ status: 410 }));
    const { json } = await subscribe({ topic: "gone-endpoint", url: gone.url, dialect: "plain" });
    await publish("gone-endpoint", '"first"');
    const [notice] = await watcher.waitFor(1);
    const body = JSON.parse(notice!.body.toString());
    expect(body).toMatchObject({
      subscription_id: json.id,
      previous_state: "active",
      state: "disabled",
      topic: "gone-endpoint",
    });
    expect(body.status_message).toMatch(/410 Gone/);
    expect(notice!.headers["hookd-event-type"]).toBe("subscription.disabled");
    const read = await (await api(suite.hookd.url, `/api/v1/subscriptions/${json.id}`)).json();
    expect(read.state).toBe("disabled");
    await publish("gone-endpoint", '"second"');
    await quiet();
    expect(gone.requests).toHaveLength(1);
  });

  it("N consecutive failed deliveries disable it and the owner is told; re-activating resets the count", async () => {
    const watcher = await receiver();
    await subscribe({
      topic: "hookd/system/subscriptions",
      url: watcher.url,
      dialect: "plain",
      event_types: ["subscription.disabled"],
    });
    let healthy = false;
    const flaky = await receiver(() => ({ status: healthy ? 200 : 500 }));
    const { json } = await subscribe({
      topic: "flaky-endpoint",
      url: flaky.url,
      dialect: "plain",
      retry_schedule: "50ms",
    });
    await publish("flaky-endpoint", '"1"');
    await eventually(
      async () =>
        (await (await api(suite.hookd.url, `/api/v1/subscriptions/${json.id}`)).json()).consecutive_failures === 1,
      10_000,
      "one failed delivery",
    );
    await publish("flaky-endpoint", '"2"');
    const disabled = await eventually(
      async () => {
        const read = await (await api(suite.hookd.url, `/api/v1/subscriptions/${json.id}`)).json();
        return read.state === "disabled" ? read : undefined;
      },
      10_000,
      "the subscription to be disabled",
    );
    expect(disabled.status_message).toBe("disabled after 2 consecutive failed deliveries");
    expect(flaky.requests).toHaveLength(4);
    const notice = await eventually(
      async () => {
        const found = watcher.requests.map((request) => JSON.parse(request.body.toString())).find((body) =>
          body.subscription_id === json.id
        );
        return found ?? undefined;
      },
      10_000,
      "the operational event",
    );
    expect(notice).toMatchObject({
      state: "disabled",
      previous_state: "active",
      status_message: "disabled after 2 consecutive failed deliveries",
    });

    healthy = true;
    const active = await (await api(suite.hookd.url, `/api/v1/subscriptions/${json.id}/activate`, { method: "POST" }))
      .json();
    expect(active).toMatchObject({ state: "active", consecutive_failures: 0, status_message: null });
    await publish("flaky-endpoint", '"3"');
    await flaky.waitFor(5);
  });

  it("secret rotation: during the grace period deliveries verify with either secret, after it only with the new one", async () => {
    const r = await receiver();
    const { json } = await subscribe({ topic: "rotating", url: r.url });
    const oldSecret = json.secret as string;
    const rotated =
      await (await api(suite.hookd.url, `/api/v1/subscriptions/${json.id}/rotate-secret`, { method: "POST" })).json();
    const newSecret = rotated.secret as string;
    expect(newSecret).toMatch(/^whsec_/);
    expect(newSecret).not.toBe(oldSecret);
    await publish("rotating", '{"n":1}');
    const [during] = await r.waitFor(1);
    const headers = during!.headers as Record<string, string>;
    expect(headers["webhook-signature"]!.split(" ")).toHaveLength(2);
    expect(new Webhook(oldSecret).verify(during!.body.toString(), headers)).toEqual({ n: 1 });
    expect(new Webhook(newSecret).verify(during!.body.toString(), headers)).toEqual({ n: 1 });

    // A rotation with no grace period retires the previous secrets at once.
    const again = await (await api(suite.hookd.url, `/api/v1/subscriptions/${json.id}/rotate-secret`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ grace_period: "0s" }),
    })).json();
    await publish("rotating", '{"n":2}');
    const after = (await r.waitFor(2))[1]!;
    const afterHeaders = after.headers as Record<string, string>;
    expect(new Webhook(again.secret).verify(after.body.toString(), afterHeaders)).toEqual({ n: 2 });
    expect(() => new Webhook(newSecret).verify(after.body.toString(), afterHeaders)).toThrow();
    expect(() => new Webhook(oldSecret).verify(after.body.toString(), afterHeaders)).toThrow();

    const plain = await subscribe({ topic: "rotating", url: r.url, dialect: "plain" });
    expect(
      (await api(suite.hookd.url, `/api/v1/subscriptions/${plain.json.id}/rotate-secret`, { method: "POST" })).status,
    ).toBe(400);
  });

  it("replay since a time redelivers exactly the events in the window", async () => {
    const r = await receiver();
    const { json } = await subscribe({ topic: "history/", url: r.url, dialect: "plain" });
    await publish("history/a", '"before"');
    await quiet(50);
    const since = new Date().toISOString();
    await quiet(50);
    await publish("history/a", '"in-1"');
    await publish("history/b", '"in-2"');
    await publish("elsewhere", '"not mine"');
    await quiet(50);
    const until = new Date().toISOString();
    await quiet(50);
    await publish("history/a", '"after"');
    await r.waitFor(4);
    const replay = await api(suite.hookd.url, `/api/v1/subscriptions/${json.id}/replay`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ since, until }),
    });
    expect(replay.status).toBe(202);
    expect(await replay.json()).toMatchObject({ events: 2, deliveries: 2, truncated: false });
    await r.waitFor(6);
    await quiet();
    const bodies = r.requests.map((request) => request.body.toString());
    expect(bodies.slice(4).sort()).toEqual(['"in-1"', '"in-2"']);
    expect(bodies).toHaveLength(6);

    const bad = await api(suite.hookd.url, `/api/v1/subscriptions/${json.id}/replay`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ since: "yesterday" }),
    });
    expect(bad.status).toBe(400);
    expect((await bad.json()).detail).toMatch(/since must be an ISO 8601 time/);
    // A time JavaScript reads but NATS cannot take as a start time (a year outside 0000 to 9999).
    for (const since of ["-000001-01-01T00:00:00Z", "+010000-01-01T00:00:00Z"]) {
      const outside = await api(suite.hookd.url, `/api/v1/subscriptions/${json.id}/replay`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ since }),
      });
      expect(outside.status, since).toBe(400);
      expect((await outside.json()).detail).toMatch(/since must be an ISO 8601 time/);
    }
  });

  it("lists a subscription's recent attempts, newest first, with request and response", async () => {
    const r = await receiver((
      _request,
      index,
    ) => (index === 0 ? { status: 503, body: "busy" } : { status: 200, body: "thanks" }));
    const { json } = await subscribe({ topic: "attempted", url: r.url, retry_schedule: "50ms" });
    await publish("attempted", '{"x":1}');
    await r.waitFor(2);
    const attempts = await attemptsOnce(json.id, 2);
    expect(attempts.map((a: { outcome: string; attempt: number }) => [a.attempt, a.outcome])).toEqual([
      [2, "succeeded"],
      [1, "failed"],
    ]);
    expect(attempts[0].response.body).toBe("thanks");
    expect(attempts[1].response).toMatchObject({ status: 503, body: "busy" });
    expect(attempts[0].request.headers["webhook-signature"]).toMatch(/^v1,/);
    expect(attempts[0].delivery_id).toBe(attempts[1].delivery_id);
    expect((await api(suite.hookd.url, "/api/v1/subscriptions/sub_01ARZ3NDEKTSV4RRFFQ69G5FAV/attempts")).status).toBe(
      404,
    );
  });

  it("lists attempts across the subscription's deliveries by time, newest first, up to the limit asked", async () => {
    // Each delivery's first request of the first two fails: A and B take two attempts, C and D one.
    const r = await receiver((_request, index) => (index === 0 || index === 2 ? { status: 503 } : { status: 200 }));
    const { json } = await subscribe({ topic: "attempted/many", url: r.url, retry_schedule: "50ms" });
    const deliveryIds: string[] = [];
    for (const [i, event] of ["a", "b", "c", "d"].entries()) {
      await publish("attempted/many", JSON.stringify({ event }));
      const requests = await r.waitFor(i < 2 ? 2 * (i + 1) : 4 + (i - 1));
      deliveryIds.push(String(requests.at(-1)!.headers["webhook-id"]));
    }
    const [a, b, c, d] = deliveryIds;
    const attemptsOf = (query: string, count: number) => attemptsOnce(json.id, count, query);
    const shown = (attempts: { delivery_id: string; attempt: number }[]) =>
      attempts.map((attempt) => [attempt.delivery_id, attempt.attempt]);
    expect(shown(await attemptsOf("", 6))).toEqual([[d, 1], [c, 1], [b, 2], [b, 1], [a, 2], [a, 1]]);
    expect(shown(await attemptsOf("?limit=3", 3))).toEqual([[d, 1], [c, 1], [b, 2]]);
    expect(shown(await attemptsOf("?limit=1", 1))).toEqual([[d, 1]]);
  });

  it("lists a newer attempt ahead of older ones whose deliveries changed later without an attempt (cancelled)", async () => {
    // More cancelled deliveries than one index page of the read holds (20), each changed after the newer attempt.
    const failing = 21;
    const r = await receiver((_request, index) => (index < failing ? { status: 503 } : { status: 200 }));
    const { json } = await subscribe({ topic: "attempted/cancelled", url: r.url, retry_schedule: "1h" });
    for (let i = 0; i < failing; i++) await publish("attempted/cancelled", JSON.stringify({ i }));
    const failed = (await r.waitFor(failing)).map((request) => String(request.headers["webhook-id"]));
    await publish("attempted/cancelled", '{"i":"last"}');
    const delivered = String((await r.waitFor(failing + 1)).at(-1)!.headers["webhook-id"]);
    for (const id of failed) {
      expect((await api(suite.hookd.url, `/api/v1/deliveries/${id}/cancel`, { method: "POST" })).status).toBe(200);
    }
    await waitForListed(suite.hookd.url, `state=cancelled&limit=${failing}`, failed);
    const newest = await (await api(suite.hookd.url, `/api/v1/subscriptions/${json.id}/attempts?limit=1`)).json();
    expect(newest.data.map((a: { delivery_id: string }) => a.delivery_id)).toEqual([delivered]);
    const all = await (await api(suite.hookd.url, `/api/v1/subscriptions/${json.id}/attempts?limit=100`)).json();
    expect(all.data).toHaveLength(failing + 1);
    expect(all.data[0]).toMatchObject({ delivery_id: delivered, outcome: "succeeded" });
    expect(all.data.slice(1).every((a: { outcome: string }) => a.outcome === "failed")).toBe(true);
  });

  it("keeps a delivery's earlier attempts in the list once it is retried by hand, with the new one above them", async () => {
    const r = await receiver((_request, index) => (index < 2 ? { status: 503, body: "busy" } : { status: 200 }));
    const { json } = await subscribe({ topic: "attempted/retried", url: r.url, retry_schedule: "50ms" });
    await publish("attempted/retried", '{"retry":"me"}');
    const id = String((await r.waitFor(2)).at(-1)!.headers["webhook-id"]);
    await waitForState(suite.hookd.url, id, "failed");
    const retried = await api(suite.hookd.url, `/api/v1/deliveries/${id}/retry`, { method: "POST" });
    expect(retried.status).toBe(202);
    await waitForState(suite.hookd.url, id, "delivered");
    const attempts = await attemptsOnce(json.id, 3);
    expect(
      attempts.map((
        a: { delivery_id: string; attempt: number; outcome: string },
      ) => [a.delivery_id, a.attempt, a.outcome]),
    )
      .toEqual([[id, 3, "succeeded"], [id, 2, "failed"], [id, 1, "failed"]]);
  });

  it("lists the new attempt of a delivery retried while the list is read, though the delivery sat past the pages read", async () => {
    // The oldest delivery (index 0 and 1: two failed attempts) sits below the first page of 20 newer ones.
    const r = await receiver((_request, index) => (index < 2 ? { status: 503 } : { status: 200 }));
    const { json } = await subscribe({ topic: "attempted/midread", url: r.url, retry_schedule: "50ms" });
    await publish("attempted/midread", '{"n":0}');
    const oldest = String((await r.waitFor(2)).at(-1)!.headers["webhook-id"]);
    await waitForState(suite.hookd.url, oldest, "failed");
    for (let n = 1; n <= 20; n++) await publish("attempted/midread", JSON.stringify({ n }));
    await r.waitFor(22);
    const js = jetstream(suite.nc);
    const listing = new DeliveryListing(js, await jetstreamManager(suite.nc), layout);
    const query = { subscriptionId: json.id, limit: 50 };
    await eventually(
      async () => (await listing.page(query)).entries.filter((e) => e.state !== "pending").length === 21 || undefined,
      10_000,
      "21 deliveries indexed as attempted",
    );
    let firstPage: string[] | undefined;
    const attempts = new SubscriptionAttempts({
      listing: {
        page: async (pageQuery) => {
          const page = await listing.page(pageQuery);
          if (firstPage) return page;
          firstPage = page.entries.map((entry) => entry.id);
          // Retried by hand between two reads of the index: its entry moves above the first page's start.
          expect((await api(suite.hookd.url, `/api/v1/deliveries/${oldest}/retry`, { method: "POST" })).status).toBe(
            202,
          );
          await waitForState(suite.hookd.url, oldest, "delivered");
          await eventually(
            async () =>
              (await listing.page({ ...query, afterSeq: page.indexSeq })).entries.some((e) => e.id === oldest) ||
              undefined,
            10_000,
            "the retried delivery indexed anew",
          );
          return page;
        },
      },
      deliveryStore: new DeliveryStore(js, await jetstreamManager(suite.nc), new JetStreamPublisher(suite.nc), layout),
      log: { warn: () => {} },
    });
    const recent = await attempts.recent(json.id, 20);
    expect(firstPage).toHaveLength(20);
    expect(firstPage).not.toContain(oldest);
    expect(recent).toHaveLength(20);
    expect([recent[0]!.delivery_id, recent[0]!.attempt, recent[0]!.outcome]).toEqual([oldest, 3, "succeeded"]);
    // The other 19 are the first page's newest deliveries' first attempts, newest first.
    expect(recent.slice(1).map((a) => a.delivery_id)).toEqual(firstPage!.slice(0, 19));
  });

  it("leaves out a delivery whose journal it cannot read (a newer hookd's event), lists the others and says which", async () => {
    const { log, lines } = capturedLog("warn");
    const reader = await startTestHookd(suite.nats.url, { HOOKD_INSTANCE_ID: "reader" }, log);
    try {
      const r = await receiver();
      const { json } = await subscribe({ topic: "attempted/unreadable", url: r.url });
      await publish("attempted/unreadable", '{"n":1}');
      const unreadable = String((await r.waitFor(1))[0]!.headers["webhook-id"]);
      await publish("attempted/unreadable", '{"n":2}');
      const readable = String((await r.waitFor(2))[1]!.headers["webhook-id"]);
      const listed = async () => {
        const response = await api(reader.url, `/api/v1/subscriptions/${json.id}/attempts`);
        expect(response.status).toBe(200);
        return ((await response.json()).data as { delivery_id: string }[]).map((a) => a.delivery_id).sort();
      };
      await eventually(async () => (await listed()).length === 2 || undefined, 10_000, "both deliveries' attempts");
      // What a newer hookd sharing the NATS would write: an event type this one does not know, with its state header.
      const stateHeader = headers();
      stateHeader.set("Hookd-State", "delivered");
      const newer = { type: "attempt.rerouted", at: new Date().toISOString(), data: { attempt: 2 } };
      await jetstream(suite.nc).publish(
        layout.subjects.deliveryTransitions(unreadable),
        JSON.stringify({ steps: [{ event: newer, after: { state: "delivered", context: {} } }] }),
        { headers: stateHeader },
      );
      expect(await listed()).toEqual([readable]);
      // The delivery itself answers a problem naming the message, not an anonymous internal error.
      const one = await api(reader.url, `/api/v1/deliveries/${unreadable}`);
      expect(one.status).toBe(500);
      expect(await one.json()).toMatchObject({
        type: "urn:hookd:problem:unreadable-journal",
        subject: layout.subjects.deliveryTransitions(unreadable),
      });
      const warning = lines.map((line) => JSON.parse(line)).find((line) => line.deliveryId === unreadable);
      expect(warning?.msg).toMatch(/journal could not be read/);
    } finally {
      await reader.stop();
    }
  });

  it("a rate limit holds across instances: 5 per second spreads 10 events over about 2 seconds", async () => {
    const second = await startTestHookd(suite.nats.url, { HOOKD_INSTANCE_ID: "second" });
    try {
      const r = await receiver();
      const { json } = await subscribe({ topic: "limited", url: r.url, dialect: "plain", rate_limit: 5 });
      expect(json.rate_limit).toBe(5);
      for (let i = 0; i < 10; i++) await publish("limited", String(i));
      const requests = await r.waitFor(10, 20_000);
      const times = requests.map((request) => request.at).sort((a, b) => a - b);
      // GCRA at 5/s: the tenth slot is 1.8 s after the first.
      expect(times.at(-1)! - times[0]!).toBeGreaterThanOrEqual(1_600);
      for (let i = 5; i < times.length; i++) {
        expect(times[i]! - times[i - 5]!, `window ending at ${i}`).toBeGreaterThanOrEqual(800);
      }
      const attempts = await eventually(
        async () => {
          const page = await (await api(suite.hookd.url, `/api/v1/subscriptions/${json.id}/attempts`)).json();
          return page.data.length >= 10 ? page.data : undefined;
        },
        10_000,
        "the ten deliveries' attempts",
      );
      expect(attempts.every((a: { attempt: number }) => a.attempt === 1)).toBe(true);
    } finally {
      await second.stop();
    }
  }, 30_000);

  it("keeps subscriptions with no age limit, unlike delivery journals", async () => {
    const jsm = await jetstreamManager(suite.nc);
    expect((await jsm.streams.info(layout.streams.subscriptions)).config.max_age).toBe(0);
    expect((await jsm.streams.info(layout.streams.journal)).config.max_age).toBeGreaterThan(0);
  });

  it("derives a fan-out delivery's id from (event, subscription), so a second fan-out makes no new delivery", async () => {
    const a = await fanOutDeliveryId("evt_1", "sub_1", 1_700_000_000_000);
    expect(await fanOutDeliveryId("evt_1", "sub_1", 1_700_000_000_000)).toBe(a);
    expect(await fanOutDeliveryId("evt_1", "sub_2", 1_700_000_000_000)).not.toBe(a);
    expect(a).toMatch(/^dlv_[0-9A-Z]{26}$/);
  });

  it("stores the payload once: the delivery refers to the topic log and is inspectable", async () => {
    const r = await receiver();
    const { json } = await subscribe({ topic: "inspect-me", url: r.url, dialect: "plain" });
    expect(json.id).toMatch(/^sub_/);
    const event = await publish("inspect-me", '{"big":"payload"}');
    const [request] = await r.waitFor(1);
    expect(request!.headers["hookd-event-id"]).toBe(event.id);
    const list = await eventually(async () => {
      const page = await (await api(suite.hookd.url, "/api/v1/deliveries?state=delivered&limit=100")).json();
      return page.data.find((d: { target: string }) => d.target === r.url + "/") ?? undefined;
    });
    const view = await (await api(suite.hookd.url, `/api/v1/deliveries/${list.id}`)).json();
    expect(view.history[0].data.source).toBe("fan-out");
    expect(view.request.body_ref).toEqual({ topic_seq: event.seq, event_id: event.id });
    expect(view.subscription_id).toBe(json.id);
    expect(request!.body.toString()).toBe('{"big":"payload"}');
  });
});

describe("isolation", () => {
  const small = hookdSuite({ env: { HOOKD_CONCURRENCY: "4", HOOKD_TIMEOUT: "5s" } });

  it("a subscriber that answers slowly does not hold up another subscriber's deliveries", async () => {
    const slow = await small.startReceiver(() => ({ status: 200, delayMs: 3_000 }));
    const fast = await small.startReceiver();
    for (const r of [slow, fast]) {
      const response = await api(small.hookd.url, "/api/v1/subscriptions", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ topic: "shared", url: r.url, dialect: "plain" }),
      });
      expect(response.status).toBe(201);
    }
    const started = Date.now();
    for (let i = 0; i < 8; i++) {
      const response = await api(small.hookd.url, "/pub/shared", { method: "POST", body: String(i) });
      expect(response.status).toBe(202);
    }
    // With 4 slots, the slow endpoint may hold one (a quarter); the fast one gets all 8 long before a slow answer returns.
    await fast.waitFor(8, 2_500);
    expect(Date.now() - started).toBeLessThan(2_500);
    expect(slow.requests.length).toBeLessThanOrEqual(2);
  }, 30_000);
});
