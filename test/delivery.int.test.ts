// deno-lint-ignore-file no-explicit-any -- tests read hookd's JSON answers field by field
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { encodeSecret } from "../src/domain/sign-standard-webhooks.ts";
import { api, deliveryOf, startTestHookd, waitForListed, waitForState } from "./support/hookd.ts";
import { nonSnakeKeys } from "./support/json-names.ts";
import type { Responder } from "./support/receiver.ts";
import { hookdSuite } from "./support/suite.ts";

const defaultSecret = encodeSecret(new Uint8Array(32).fill(3));
const ownSecret = encodeSecret(new Uint8Array(24).fill(5));

// Every test brings receivers that answer its own way.
const suite = hookdSuite({ env: { HOOKD_SIGNING_SECRET: defaultSecret, HOOKD_MAX_BODY: "64KiB" }, receiver: false });
const receiver = (respond?: Responder) => suite.startReceiver(respond);

async function create(body: Record<string, unknown>, headers: Record<string, string> = {}) {
  const response = await api(suite.hookd.url, "/api/v1/deliveries", {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  return { response, json: (await response.json()) as Record<string, any> };
}

describe("delivery", () => {
  it("delivers a signed webhook that verifies with the standardwebhooks package", async () => {
    const r = await receiver();
    const { response, json } = await create({
      url: `${r.url}/hook`,
      body: { event: "user.created", id: 7 },
      secret: ownSecret,
      headers: { "X-Custom": "yes" },
    });
    expect(response.status).toBe(202);
    expect(response.headers.get("location")).toBe(`/api/v1/deliveries/${json.id}`);
    const [request] = await r.waitFor(1);
    expect(request!.headers["content-type"]).toBe("application/json");
    expect(request!.headers["x-custom"]).toBe("yes");
    expect(request!.headers["webhook-id"]).toBe(json.id);
    const verified = new Webhook(ownSecret).verify(
      request!.body.toString(),
      request!.headers as Record<string, string>,
    );
    expect(verified).toEqual({ event: "user.created", id: 7 });
    expect(() =>
      new Webhook(defaultSecret).verify(request!.body.toString(), request!.headers as Record<string, string>)
    ).toThrow();
    const view = await waitForState(suite.hookd.url, json.id, "delivered");
    expect(view.attempts).toHaveLength(1);
    expect(view.attempts[0].response.status).toBe(200);
    expect(view.attempts[0].request.headers["webhook-signature"]).toMatch(/^v1,/);
    expect(JSON.stringify(view)).not.toContain(ownSecret.slice(6));
  });

  it("signs with the server's default secret when the request brings none", async () => {
    const r = await receiver();
    const response = await api(suite.hookd.url, `/dispatch?_url=${encodeURIComponent(r.url + "/h")}`, {
      method: "POST",
      body: '{"hello":1}',
      headers: { "content-type": "application/json" },
    });
    expect(response.status).toBe(202);
    const [request] = await r.waitFor(1);
    expect(new Webhook(defaultSecret).verify(request!.body.toString(), request!.headers as Record<string, string>))
      .toEqual({ hello: 1 });
  });

  it("journals a first attempt that answers quickly in one append, showing every state it passed through", async () => {
    const r = await receiver();
    // An attempt answered within the quick window (1 s here); a busy machine may take longer now and then.
    let quick: any;
    for (let tries = 0; tries < 5 && !quick; tries++) {
      const { json } = await create({ url: r.url, body: "x" });
      const view = await waitForState(suite.hookd.url, json.id, "delivered");
      expect(view.history.map((entry: { state: string }) => entry.state)).toEqual([
        "pending",
        "in-flight",
        "delivered",
      ]);
      if (view.attempts[0].latency_ms < 500) quick = view;
    }
    // The start and the outcome went to NATS as one message: one journal append for the whole delivery.
    const [, started, succeeded] = quick.history as { seq: number }[];
    expect(started!.seq).toBe(succeeded!.seq);
    expect(quick.attempts).toHaveLength(1);
  });

  it("fails twice, then succeeds: the journal shows every transition and webhook-id stays the same", async () => {
    const r = await receiver((
      _request,
      index,
    ) => (index < 2 ? { status: 500, body: `boom ${index}` } : { status: 204 }));
    const { json } = await create({ url: r.url, body: "x" });
    const view = await waitForState(suite.hookd.url, json.id, "delivered");
    expect(view.history.map((entry: { state: string }) => entry.state)).toEqual([
      "pending",
      "in-flight",
      "backoff",
      "in-flight",
      "backoff",
      "in-flight",
      "delivered",
    ]);
    expect(view.history.map((entry: { type: string }) => entry.type)).toEqual([
      "delivery.created",
      "attempt.started",
      "attempt.failed",
      "attempt.started",
      "attempt.failed",
      "attempt.started",
      "attempt.succeeded",
    ]);
    const seqs = view.history.map((entry: { seq: number }) => entry.seq);
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
    expect(view.attempts.map((a: { outcome: string }) => a.outcome)).toEqual(["failed", "failed", "succeeded"]);
    expect(view.attempts[0].response.body).toBe("boom 0");
    expect(view.attempts[0].retry_at).not.toBeNull();
    // The history shows each event's data in the API's names, the same as the attempts: snake_case throughout.
    expect(view.history[2].data).toMatchObject({
      attempt: 1,
      latency_ms: expect.any(Number),
      permanent: false,
      retry_at: view.attempts[0].retry_at,
      response: { status: 500, body: "boom 0", body_truncated: false },
      error: expect.stringMatching(/500/),
    });
    expect(view.history[1].data).toEqual({ attempt: 1, worker: expect.any(String) });
    expect(nonSnakeKeys(view)).toEqual([]);
    expect(view.replay_mismatch).toBeUndefined();
    expect(new Set(r.requests.map((request) => request.headers["webhook-id"]))).toEqual(new Set([json.id]));
    // The second attempt waited for its retry time (100ms ± 20% jitter).
    const gap = r.requests[1]!.at - r.requests[0]!.at;
    expect(gap).toBeGreaterThanOrEqual(75);
  });

  it("gives up when the attempts are exhausted, then a manual retry delivers it", async () => {
    let healthy = false;
    const r = await receiver(() => (healthy ? { status: 200 } : { status: 502 }));
    const { json } = await create({ url: r.url, body: "retry me" });
    const failed = await waitForState(suite.hookd.url, json.id, "failed");
    expect(failed.failure_reason).toBe("exhausted");
    expect(failed.attempts_made).toBe(4);
    expect(r.requests).toHaveLength(4);

    healthy = true;
    const retry = await api(suite.hookd.url, `/api/v1/deliveries/${json.id}/retry`, { method: "POST" });
    expect(retry.status).toBe(202);
    expect((await retry.json()).state).toBe("pending");
    const delivered = await waitForState(suite.hookd.url, json.id, "delivered");
    expect(delivered.attempts_made).toBe(5);
    expect(delivered.history.map((e: { type: string }) => e.type)).toContain("delivery.retry-requested");
    expect(r.requests).toHaveLength(5);

    const again = await api(suite.hookd.url, `/api/v1/deliveries/${json.id}/retry`, { method: "POST" });
    expect(again.status).toBe(409);
    expect(again.headers.get("content-type")).toBe("application/problem+json");
  });

  it("410 Gone fails the delivery at once, without further attempts", async () => {
    const r = await receiver(() => ({ status: 410 }));
    const { json } = await create({ url: r.url, body: "gone" });
    const view = await waitForState(suite.hookd.url, json.id, "failed");
    expect(view.failure_reason).toBe("permanent");
    expect(view.attempts).toHaveLength(1);
    expect(view.attempts[0].permanent).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(r.requests).toHaveLength(1);
  });

  it("429 with Retry-After waits as long as the receiver asked", async () => {
    const r = await receiver((
      _request,
      index,
    ) => (index === 0 ? { status: 429, headers: { "retry-after": "1" } } : { status: 200 }));
    const { json } = await create({ url: r.url, body: "slow down" });
    const view = await waitForState(suite.hookd.url, json.id, "delivered", 10_000);
    const first = view.attempts[0];
    expect(Date.parse(first.retry_at) - Date.parse(first.finished_at)).toBeGreaterThanOrEqual(990);
    expect(r.requests[1]!.at - r.requests[0]!.at).toBeGreaterThanOrEqual(950);
  });

  it("an Idempotency-Key dedupes: same delivery, delivered once", async () => {
    const r = await receiver();
    const key = `order-${Date.now()}`;
    const first = await create({ url: r.url, body: "once" }, { "idempotency-key": key });
    const second = await create({ url: r.url, body: "once" }, { "idempotency-key": key });
    expect(first.response.status).toBe(202);
    expect(second.response.status).toBe(202);
    expect(second.json.id).toBe(first.json.id);
    expect(second.response.headers.get("idempotent-replayed")).toBe("true");
    await waitForState(suite.hookd.url, first.json.id, "delivered");
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(r.requests).toHaveLength(1);
    const third = await create({ url: r.url, body: "other" }, { "idempotency-key": `${key}-b` });
    expect(third.json.id).not.toBe(first.json.id);
  });

  it("the same Idempotency-Key with a different request is a 422 naming what differs, and delivers nothing more", async () => {
    const r = await receiver();
    const key = { "idempotency-key": `conflict-${Date.now()}` };
    const request = { url: `${r.url}/a`, body: { n: 1 }, headers: { "X-Tenant": "acme" } };
    const first = await create(request, key);
    expect(first.response.status).toBe(202);
    const refused = async (body: Record<string, unknown>) => {
      const { response, json } = await create(body, key);
      expect(response.status).toBe(422);
      expect(response.headers.get("content-type")).toBe("application/problem+json");
      expect(json.type).toBe("urn:hookd:problem:idempotency-key-reused");
      expect(json.field).toBe("Idempotency-Key");
      return json.conflicts;
    };
    expect(await refused({ ...request, body: { n: 2 } })).toEqual(["body"]);
    expect(await refused({ ...request, url: `${r.url}/b`, body: "other" })).toEqual(["url", "headers", "body"]);
    expect(await refused({ ...request, headers: { "X-Tenant": "other" } })).toEqual(["headers"]);
    expect(await refused({ ...request, method: "PUT" })).toEqual(["method"]);
    expect(await refused({ ...request, secret: ownSecret })).toEqual(["secret"]);
    const dispatched = await api(suite.hookd.url, `/dispatch?_url=${encodeURIComponent(request.url)}`, {
      method: "POST",
      headers: { ...key, "content-type": "application/json" },
      body: '{"n":1}',
    });
    expect((await dispatched.json()).conflicts).toEqual(["headers", "endpoint"]);

    // The same request again answers the first delivery, and only that one is delivered.
    const again = await create(request, key);
    expect(again.response.status).toBe(202);
    expect(again.json.id).toBe(first.json.id);
    await waitForState(suite.hookd.url, first.json.id, "delivered");
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(r.requests).toHaveLength(1);
  });

  it("a keyed request retried against an instance with another default secret is the same request", async () => {
    const other = await startTestHookd(suite.nats.url, {
      HOOKD_SIGNING_SECRET: encodeSecret(new Uint8Array(32).fill(9)),
      HOOKD_WORKERS: "off",
    });
    try {
      const r = await receiver();
      const key = { "idempotency-key": `instances-${Date.now()}` };
      const first = await create({ url: r.url, body: "once" }, key);
      const retried = await api(other.url, "/api/v1/deliveries", {
        method: "POST",
        headers: { "content-type": "application/json", ...key },
        body: JSON.stringify({ url: r.url, body: "once" }),
      });
      expect(retried.status).toBe(202);
      expect(retried.headers.get("idempotent-replayed")).toBe("true");
      expect((await retried.json()).id).toBe(first.json.id);
    } finally {
      await other.stop();
    }
  });

  it("a delivery in backoff can be cancelled, and then gets no more attempts", async () => {
    const slow = await startTestHookd(suite.nats.url, { HOOKD_RETRY_SCHEDULE: "1s", HOOKD_WORKERS: "off" });
    try {
      const r = await receiver(() => ({ status: 500 }));
      const response = await api(slow.url, "/api/v1/deliveries", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ url: r.url, body: "c" }),
      });
      const { id } = await response.json();
      await waitForState(suite.hookd.url, id, "backoff");
      const cancel = await api(suite.hookd.url, `/api/v1/deliveries/${id}/cancel`, { method: "POST" });
      expect(cancel.status).toBe(200);
      expect((await cancel.json()).state).toBe("cancelled");
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(r.requests).toHaveLength(1);
      expect((await deliveryOf(suite.hookd.url, id)).state).toBe("cancelled");
    } finally {
      await slow.stop();
    }
  });

  it("an attempt that hangs times out and is retried", async () => {
    const r = await receiver((_request, index) => (index === 0 ? { status: 200, delayMs: 3_000 } : { status: 200 }));
    const { json } = await create({ url: r.url, body: "hang" });
    const view = await waitForState(suite.hookd.url, json.id, "delivered", 15_000);
    expect(view.attempts[0].outcome).toBe("failed");
    expect(view.attempts[0].error).toMatch(/timed out/);
  });

  it("keeps at most 64 KiB of a response body", async () => {
    const r = await receiver(() => ({ status: 200, body: "y".repeat(100_000) }));
    const { json } = await create({ url: r.url, body: "big answer" });
    const view = await waitForState(suite.hookd.url, json.id, "delivered");
    expect(view.attempts[0].response.body).toHaveLength(64 * 1024);
    expect(view.attempts[0].response.body_truncated).toBe(true);
  });

  it("does not follow redirects", async () => {
    const target = await receiver();
    const r = await receiver(() => ({ status: 302, headers: { location: target.url } }));
    const { json } = await create({ url: r.url, body: "moved" });
    await new Promise((resolve) => setTimeout(resolve, 800));
    const view = await deliveryOf(suite.hookd.url, json.id);
    expect(view.attempts[0].response.status).toBe(302);
    expect(target.requests).toHaveLength(0);
  });

  it("sends binary bodies and other methods as given", async () => {
    const r = await receiver();
    const bytes = Buffer.from([0, 1, 2, 250, 255]);
    const { response } = await create({ url: r.url, method: "put", body_base64: bytes.toString("base64") });
    expect(response.status).toBe(202);
    const [request] = await r.waitFor(1);
    expect(request!.method).toBe("PUT");
    expect(request!.headers["content-type"]).toBe("application/octet-stream");
    expect(Buffer.compare(request!.body, bytes)).toBe(0);
  });

  it("lists deliveries by state with a cursor", async () => {
    const r = await receiver(() => ({ status: 410 }));
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await create({ url: r.url, body: String(i) })).json.id);
    for (const id of ids) await waitForState(suite.hookd.url, id, "failed");
    // The list follows the journal a moment behind (its index is written off the delivery path).
    await waitForListed(suite.hookd.url, "state=failed&limit=100", ids);
    const first = await (await api(suite.hookd.url, "/api/v1/deliveries?state=failed&limit=2")).json();
    expect(first.data).toHaveLength(2);
    expect(first.data.every((item: { state: string }) => item.state === "failed")).toBe(true);
    expect(first.next_cursor).toBeTruthy();
    const second =
      await (await api(suite.hookd.url, `/api/v1/deliveries?state=failed&limit=2&cursor=${first.next_cursor}`)).json();
    const listed = [...first.data, ...second.data].map((item: { id: string }) => item.id);
    for (const id of ids) expect(listed).toContain(id);
    expect(new Set(listed).size).toBe(listed.length);
    expect(first.data[0].target).toBe(r.url + "/");
  });

  it("exposes Prometheus metrics for what happened", async () => {
    const response = await api(suite.hookd.url, "/metrics");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/plain/);
    const text = await response.text();
    const value = (pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? NaN);
    expect(value(/^hookd_deliveries_accepted_total\{source="api"\} (\d+)/m)).toBeGreaterThan(5);
    expect(value(/^hookd_attempts_total\{outcome="succeeded"\} (\d+)/m)).toBeGreaterThan(5);
    expect(value(/^hookd_attempts_total\{outcome="retry"\} (\d+)/m)).toBeGreaterThan(2);
    expect(value(/^hookd_attempts_total\{outcome="permanent"\} (\d+)/m)).toBeGreaterThan(0);
    expect(value(/^hookd_deliveries_finished_total\{state="failed"\} (\d+)/m)).toBeGreaterThan(0);
    expect(value(/^hookd_attempt_duration_seconds_count (\d+)/m)).toBeGreaterThan(10);
    expect(value(/^hookd_nats_connected (\d+)/m)).toBe(1);
    expect((await fetch(`${suite.hookd.url}/metrics`)).status).toBe(401);
  });

  it("serves an OpenAPI document generated from the request schemas, without a token", async () => {
    const response = await fetch(`${suite.hookd.url}/api/v1/openapi.json`);
    expect(response.status).toBe(200);
    const doc = await response.json();
    expect(doc.openapi).toBe("3.1.0");
    // Bodies are named components, referenced from the operations.
    const component = (schema: { $ref: string }) => doc.components.schemas[schema.$ref.split("/").at(-1)!];
    const create = component(doc.paths["/api/v1/deliveries"].post.requestBody.content["application/json"].schema);
    expect(create.required).toEqual(["url"]);
    expect(Object.keys(create.properties)).toEqual([
      "url",
      "method",
      "headers",
      "body",
      "body_base64",
      "content_type",
      "secret",
      "callback_url",
      "errback_url",
    ]);
    const view = component(
      doc.paths["/api/v1/deliveries/{id}"].get.responses["200"].content["application/json"].schema,
    );
    expect(view.properties.state.enum).toContain("backoff");
    expect(doc.paths["/api/v1/deliveries"].get.parameters.map((p: { name: string }) => p.name)).toEqual([
      "state",
      "limit",
      "cursor",
      "subscription_id",
      "host",
      "topic",
      "event_type",
      "since",
      "until",
      "q",
    ]);
  });

  it("describes the delivery machine for a visualiser", async () => {
    const graph = await (await api(suite.hookd.url, "/api/v1/machines/delivery")).json();
    expect(graph.initial).toBe("pending");
    expect(graph.states.map((s: { name: string }) => s.name)).toEqual([
      "pending",
      "in-flight",
      "backoff",
      "delivered",
      "failed",
      "cancelled",
    ]);
    expect(graph.transitions).toContainEqual(
      expect.objectContaining({
        from: "backoff",
        event: "attempt.started",
        to: "in-flight",
        guard: "isNextAttemptAndDue",
      }),
    );
  });
});
