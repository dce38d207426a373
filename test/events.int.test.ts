// deno-lint-ignore-file no-explicit-any -- tests read hookd's JSON answers field by field
import { jetstreamManager } from "@nats-io/jetstream";
import { describe, expect, it } from "vitest";
import { createLayout } from "../src/nats/layout.ts";
import { api, eventually, waitForState } from "./support/hookd.ts";
import { hookdSuite } from "./support/suite.ts";

/** The payload read back: a published event by id, with its deliveries, and the body each delivery sends. */

const layout = createLayout();
const suite = hookdSuite({ connect: true, receiver: false });

async function post(path: string, body: BodyInit, headers: Record<string, string> = {}) {
  const response = await api(suite.hookd.url, path, { method: "POST", headers, body });
  return { status: response.status, json: (await response.json()) as Record<string, any> };
}

const subscribe = (topic: string, url: string) =>
  post("/api/v1/subscriptions", JSON.stringify({ topic, url }), { "content-type": "application/json" });

async function getJson(path: string) {
  const response = await api(suite.hookd.url, path);
  return { response, json: (await response.json()) as Record<string, any> };
}

describe("GET /api/v1/events/<id>", () => {
  it("reads a published event back with its payload and the deliveries it created, which link back", async () => {
    const r = await suite.startReceiver();
    const exact = (await subscribe("events/orders", `${r.url}/exact`)).json;
    const below = (await subscribe("events/", `${r.url}/below`)).json;
    await subscribe("events/other", `${r.url}/other`);
    const published = await post("/pub/events/orders", '{"order":17}', {
      "content-type": "application/json",
      "hookd-event-type": "order.created",
    });
    expect(published.status).toBe(202);
    const received = await r.waitFor(2);
    const deliveryIds = received.map((request) => String(request.headers["webhook-id"])).sort();

    const { response, json: event } = await getJson(`/api/v1/events/${published.json.id}`);
    expect(response.status).toBe(200);
    expect(event).toMatchObject({
      id: published.json.id,
      seq: published.json.seq,
      topic: "events/orders",
      unsafe: false,
      type: "order.created",
      content_type: "application/json",
      published_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      body_bytes: 12,
      body: '{"order":17}',
      links: { self: `/api/v1/events/${published.json.id}` },
    });
    expect(event.body_base64).toBeUndefined();
    const deliveries = await eventually(async () => {
      const { json } = await getJson(`/api/v1/events/${published.json.id}`);
      return json.deliveries.every((d: any) => d.state === "delivered") ? json.deliveries : undefined;
    });
    expect(deliveries.map((d: any) => d.id)).toEqual(deliveryIds);
    expect(deliveries.map((d: any) => d.subscription_id).sort()).toEqual([exact.id, below.id].sort());
    expect(deliveries[0].links).toEqual({ self: `/api/v1/deliveries/${deliveries[0].id}` });

    // Each delivery links back to its event, and its body is the event's, byte for byte.
    const { json: delivery } = await getJson(`/api/v1/deliveries/${deliveryIds[0]}`);
    expect(delivery.event_id).toBe(published.json.id);
    expect(delivery.links).toEqual({
      self: `/api/v1/deliveries/${deliveryIds[0]}`,
      body: `/api/v1/deliveries/${deliveryIds[0]}/body`,
      event: `/api/v1/events/${published.json.id}`,
      subscription: `/api/v1/subscriptions/${delivery.subscription_id}`,
      report_of: null,
      reports: [],
    });
    const body = await api(suite.hookd.url, delivery.links.body);
    expect(body.status).toBe(200);
    expect(body.headers.get("content-type")).toBe("application/json");
    expect(await body.text()).toBe('{"order":17}');
  });

  it("still lists a delivery whose subscription was deleted since", async () => {
    const r = await suite.startReceiver();
    const { json: subscription } = await subscribe("gone/leaving", r.url);
    const { json: published } = await post("/pub/gone/leaving", "bye", { "content-type": "text/plain" });
    await r.waitFor(1);
    expect((await api(suite.hookd.url, `/api/v1/subscriptions/${subscription.id}`, { method: "DELETE" })).status)
      .toBe(204);
    const { json: event } = await getJson(`/api/v1/events/${published.id}`);
    expect(event.deliveries.map((d: any) => d.subscription_id)).toEqual([subscription.id]);
  });

  it("a binary payload comes back as body_base64; an unsafe event says so and has no deliveries", async () => {
    const bytes = Buffer.from([0xff, 0x00, 0xfe, 0x01]);
    const { json: binary } = await post("/pub/events/binary", bytes, { "content-type": "application/octet-stream" });
    const { json: event } = await getJson(`/api/v1/events/${binary.id}`);
    expect(event.body).toBeUndefined();
    expect(Buffer.from(event.body_base64, "base64")).toEqual(bytes);
    expect(event.body_bytes).toBe(4);

    const unsafe = await fetch(`${suite.hookd.url}/unsafe/pub/events/open`, { method: "POST", body: "anyone" });
    const unsafePath = `/api/v1/events/${(await unsafe.json()).id}`;
    // Reading an unsafe topic back takes the consent header, as /unsafe/sub/ does.
    const { response: refused, json: problem } = await getJson(unsafePath);
    expect(refused.status).toBe(400);
    expect(problem.field).toBe("X-Hookbot-Unsafe-Is-Ok");
    const consented = await api(suite.hookd.url, unsafePath, {
      headers: { "X-Hookbot-Unsafe-Is-Ok": "I understand the security implications" },
    });
    const unsafeEvent = await consented.json();
    expect(unsafeEvent).toMatchObject({ topic: "events/open", unsafe: true, body: "anyone", deliveries: [] });
  });

  it("an event published through /dispatch with _topic is found the same way", async () => {
    const { json } = await post("/dispatch?_topic=events/hookah", "a=1", {
      "content-type": "application/x-www-form-urlencoded",
    });
    const { json: event } = await getJson(`/api/v1/events/${json.id}`);
    expect(event).toMatchObject({ topic: "events/hookah", body: "a=1" });
  });

  it("an id that names no event is a 404 problem", async () => {
    for (const id of ["evt_01ARZ3NDEKTSV4RRFFQ69G5FAV", "evt_nope", "seq-99999999"]) {
      const response = await api(suite.hookd.url, `/api/v1/events/${id}`);
      expect(response.status, id).toBe(404);
      expect(response.headers.get("content-type")).toBe("application/problem+json");
      expect((await response.json()).type).toBe("urn:hookd:problem:event-not-found");
    }
  });
});

describe("GET /api/v1/deliveries/<id>/body", () => {
  it("answers the stored body with its content type, text or binary", async () => {
    const r = await suite.startReceiver();
    const json = await post("/api/v1/deliveries", JSON.stringify({ url: r.url, body: { hello: "wörld" } }), {
      "content-type": "application/json",
    });
    const body = await api(suite.hookd.url, `/api/v1/deliveries/${json.json.id}/body`);
    expect(body.headers.get("content-type")).toBe("application/json");
    expect(body.headers.get("x-content-type-options")).toBe("nosniff");
    expect(body.headers.get("content-security-policy")).toBe("sandbox");
    expect(await body.text()).toBe('{"hello":"wörld"}');

    const bytes = Buffer.from([0, 1, 2, 250, 255]);
    const binary = await post(
      "/api/v1/deliveries",
      JSON.stringify({ url: r.url, body_base64: bytes.toString("base64") }),
      {
        "content-type": "application/json",
      },
    );
    const raw = await api(suite.hookd.url, `/api/v1/deliveries/${binary.json.id}/body`);
    expect(raw.headers.get("content-type")).toBe("application/octet-stream");
    expect(Buffer.from(await raw.arrayBuffer())).toEqual(bytes);
    // The delivery JSON of a dispatched delivery has no event to link to.
    expect((await getJson(`/api/v1/deliveries/${binary.json.id}`)).json).toMatchObject({
      event_id: null,
      links: { event: null, subscription: null, body: `/api/v1/deliveries/${binary.json.id}/body` },
    });
    await waitForState(suite.hookd.url, binary.json.id, "delivered");
  });

  it("an unknown delivery is a 404 problem", async () => {
    const response = await api(suite.hookd.url, "/api/v1/deliveries/dlv_01ARZ3NDEKTSV4RRFFQ69G5FAV/body");
    expect(response.status).toBe(404);
    expect((await response.json()).type).toBe("urn:hookd:problem:delivery-not-found");
  });
});

describe("once an event has aged out of the topic log", () => {
  it("the event and a fan-out delivery's body are 410 Gone, and the delivery itself is still there", async () => {
    const r = await suite.startReceiver();
    await subscribe("events/aging", r.url);
    const { json: published } = await post("/pub/events/aging", "soon gone", { "content-type": "text/plain" });
    const [request] = await r.waitFor(1);
    const deliveryId = String(request!.headers["webhook-id"]);
    // What HOOKD_TOPIC_MAX_AGE does to old events, done at once to this topic's.
    const jsm = await jetstreamManager(suite.nc);
    await jsm.streams.purge(layout.streams.topics, { filter: layout.subjects.topic("events/aging") });

    const event = await api(suite.hookd.url, `/api/v1/events/${published.id}`);
    expect(event.status).toBe(410);
    expect(await event.json()).toMatchObject({
      type: "urn:hookd:problem:event-expired",
      event_id: published.id,
      seq: published.seq,
      detail: expect.stringMatching(/HOOKD_TOPIC_MAX_AGE/),
    });
    const body = await api(suite.hookd.url, `/api/v1/deliveries/${deliveryId}/body`);
    expect(body.status).toBe(410);
    expect(body.headers.get("content-type")).toBe("application/problem+json");
    expect((await getJson(`/api/v1/deliveries/${deliveryId}`)).json.event_id).toBe(published.id);
  });
});
