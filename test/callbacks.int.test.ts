// deno-lint-ignore-file no-explicit-any -- tests read hookd's JSON answers field by field
import { jetstream } from "@nats-io/jetstream";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { encodeSecret } from "../src/domain/sign-standard-webhooks.ts";
import { createLayout } from "../src/nats/layout.ts";
import { api, deliveryOf, eventually, startTestHookd, waitForState } from "./support/hookd.ts";
import type { Received, Receiver } from "./support/receiver.ts";
import { hookdSuite } from "./support/suite.ts";

/**
 * Callbacks and errbacks (issue 13): a delivery that ends POSTs a signed JSON report to its
 * callback (delivered or failed) and errback (failed only); a subscription's URLs cover each of its
 * deliveries, and its errback hears of its disabling. Each report is a delivery of its own, linked
 * both ways, never reported on. Real receivers, a real nats-server.
 */

const secret = encodeSecret(new Uint8Array(32).fill(7));
const env = { HOOKD_SIGNING_SECRET: secret, HOOKD_RETRY_SCHEDULE: "100ms,100ms", HOOKD_FAILURE_THRESHOLD: "2" };
const suite = hookdSuite({ receiver: false, env, connect: true });

async function create(body: Record<string, unknown>): Promise<string> {
  const response = await api(suite.hookd.url, "/api/v1/deliveries", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  expect(response.status, await response.clone().text()).toBe(202);
  return (await response.json()).id;
}

function verified(received: Received): any {
  const payload = new Webhook(secret).verify(received.body.toString(), received.headers as Record<string, string>);
  expect(received.headers["content-type"]).toBe("application/json");
  return payload;
}

const quiet = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Checks the report delivery's links both ways and that it has no reports of its own. */
async function checkLinks(reportId: string, originalId: string, kind: string) {
  const report = await waitForState(suite.hookd.url, reportId, "delivered");
  expect(report.report_of).toEqual({ kind, delivery_id: originalId, subscription_id: null });
  expect(report.links.report_of).toBe(`/api/v1/deliveries/${originalId}`);
  expect(report.history[0].data.source).toBe("report");
  expect(report.reports).toEqual([]);
  expect(report.callback_url).toBeNull();
  const original = await eventually(
    async () => {
      const view = await deliveryOf(suite.hookd.url, originalId);
      return view.reports.includes(reportId) ? view : undefined;
    },
    10_000,
    "the original to list its report",
  );
  expect(original.links.reports).toContain(`/api/v1/deliveries/${reportId}`);
  return { report, original };
}

describe("callbacks", () => {
  it("report a delivered delivery: signed, with the last response, inspectable and linked both ways", async () => {
    const target = await suite.startReceiver(() => ({ status: 200, headers: { "x-answer": "1" }, body: "thanks" }));
    const callback = await suite.startReceiver();
    const id = await create({ url: target.url, body: { n: 1 }, callback_url: `${callback.url}/done` });
    await callback.waitFor(1);
    const received = callback.requests[0]!;
    expect(received.path).toBe("/done");
    const report = verified(received);
    expect(report).toMatchObject({
      type: "delivery.delivered",
      delivery_id: id,
      state: "delivered",
      attempts: 1,
      subscription_id: null,
      target: `${target.url}/`,
      last_error: null,
    });
    expect(report.last_response.status).toBe(200);
    expect(report.last_response.headers["x-answer"]).toBe("1");
    expect(Buffer.from(report.last_response.body_base64, "base64").toString()).toBe("thanks");
    expect(report.last_response.truncated).toBe(false);
    const reportId = received.headers["webhook-id"] as string;
    const { original } = await checkLinks(reportId, id, "callback");
    expect(original.callback_url).toBe(`${callback.url}/done`);
    // A report is never reported on: the callback got exactly one request.
    await quiet(500);
    expect(callback.requests).toHaveLength(1);
  });

  it("a report whose journal cannot be read is still listed on its original, and its own view names it", async () => {
    const target = await suite.startReceiver();
    const callback = await suite.startReceiver();
    const id = await create({ url: target.url, body: { n: 1 }, callback_url: callback.url });
    await callback.waitFor(1);
    const reportId = callback.requests[0]!.headers["webhook-id"] as string;
    await checkLinks(reportId, id, "callback");
    const subject = createLayout().subjects.deliveryCreated(reportId);
    const { seq } = await jetstream(suite.nc).publish(subject, '{"type": "delivery.cr');
    expect((await deliveryOf(suite.hookd.url, id)).reports).toEqual([reportId]);
    const response = await api(suite.hookd.url, `/api/v1/deliveries/${reportId}`);
    expect(response.status).toBe(500);
    expect(await response.json()).toMatchObject({ type: "urn:hookd:problem:unreadable-journal", subject, seq });
  });

  it("report a failed delivery to both its callback and its errback", async () => {
    const target = await suite.startReceiver(() => ({ status: 500, body: "broken" }));
    const callback = await suite.startReceiver();
    const errback = await suite.startReceiver();
    const id = await create({ url: target.url, body: "x", callback_url: callback.url, errback_url: errback.url });
    await waitForState(suite.hookd.url, id, "failed");
    await callback.waitFor(1);
    await errback.waitFor(1);
    for (const receiver of [callback, errback]) {
      const report = verified(receiver.requests[0]!);
      expect(report).toMatchObject({ type: "delivery.failed", delivery_id: id, state: "failed", attempts: 3 });
      expect(report.last_response.status).toBe(500);
      expect(report.last_error).toBe("receiver answered 500");
    }
    const view = await eventually(async () => {
      const found = await deliveryOf(suite.hookd.url, id);
      return found.reports.length === 2 ? found : undefined;
    });
    expect(view.reports).toContain(errback.requests[0]!.headers["webhook-id"]);
    await checkLinks(errback.requests[0]!.headers["webhook-id"] as string, id, "errback");
  });

  it("an errback hears nothing of a delivery that succeeds", async () => {
    const target = await suite.startReceiver();
    const errback = await suite.startReceiver();
    const id = await create({ url: target.url, body: "fine", errback_url: errback.url });
    await waitForState(suite.hookd.url, id, "delivered");
    await quiet(1_000);
    expect(errback.requests).toHaveLength(0);
    expect((await deliveryOf(suite.hookd.url, id)).reports).toEqual([]);
  });

  it("a failed report is retried like any delivery", async () => {
    const target = await suite.startReceiver();
    const callback = await suite.startReceiver((_request, index) => ({ status: index === 0 ? 503 : 200 }));
    const id = await create({ url: target.url, body: "y", callback_url: callback.url });
    await callback.waitFor(2);
    const reportId = callback.requests[0]!.headers["webhook-id"] as string;
    expect(callback.requests[1]!.headers["webhook-id"]).toBe(reportId);
    const { report } = await checkLinks(reportId, id, "callback");
    expect(report.attempts).toHaveLength(2);
  });

  it("_callback and _errback on the Hookah forms", async () => {
    const target = await suite.startReceiver(() => ({ status: 410 }));
    const callback = await suite.startReceiver();
    const errback = await suite.startReceiver();
    const query = `_url=${encodeURIComponent(target.url)}&_callback=${encodeURIComponent(callback.url)}&_errback=${
      encodeURIComponent(errback.url)
    }`;
    const response = await api(suite.hookd.url, `/dispatch?${query}`, { method: "POST", body: "gone" });
    const { id } = await response.json();
    await callback.waitFor(1);
    await errback.waitFor(1);
    expect(verified(callback.requests[0]!)).toMatchObject({ delivery_id: id, state: "failed", attempts: 1 });
    expect(verified(errback.requests[0]!).type).toBe("delivery.failed");
  });

  it("takes _callback, _errback and _wait from a form, multipart or JSON body, and forwards none of them", async () => {
    const target = await suite.startReceiver(() => ({ status: 200, body: "taken" }));
    const callback = await suite.startReceiver();
    const errback = await suite.startReceiver();
    const controls = { _url: `${target.url}/h`, _callback: callback.url, _errback: errback.url, _wait: "5" };
    const form = await api(suite.hookd.url, "/dispatch", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ ...controls, a: "1" }).toString(),
    });
    expect(form.status).toBe(200);
    expect(form.headers.get("preference-applied")).toBe("wait=5");
    const multipart = new FormData();
    for (const [name, value] of Object.entries({ ...controls, b: "2" })) multipart.append(name, value);
    const parts = await api(suite.hookd.url, "/dispatch", { method: "POST", body: multipart });
    expect(parts.status).toBe(200);
    const json = await api(suite.hookd.url, "/dispatch", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ ...controls, _wait: 5, n: 3 }),
    });
    expect(json.status).toBe(200);
    expect(target.requests.map((request) => request.body.toString()).filter((body) => !body.includes("--")))
      .toEqual(["a=1", '{"n":3}']);
    const multipartBody = target.requests[1]!.body.toString();
    expect(multipartBody).toContain('name="b"');
    for (const field of ["_url", "_callback", "_errback", "_wait"]) expect(multipartBody).not.toContain(field);
    await callback.waitFor(3);
    expect(callback.requests.map((request) => verified(request).type)).toEqual(Array(3).fill("delivery.delivered"));
    // The errback was taken too: it hears nothing of deliveries that succeed.
    expect(errback.requests).toHaveLength(0);
  });

  it("refuses a callback or errback URL the SSRF guard refuses, at ingest, like _url", async () => {
    const target = await suite.startReceiver();
    const json = { "content-type": "application/json" };
    const cases: [string, RequestInit, string][] = [
      [
        "/api/v1/deliveries",
        { headers: json, body: JSON.stringify({ url: target.url, callback_url: "http://10.0.0.1/report" }) },
        "callback_url",
      ],
      [
        "/api/v1/deliveries",
        { headers: json, body: JSON.stringify({ url: target.url, errback_url: "http://169.254.169.254/latest" }) },
        "errback_url",
      ],
      [`/dispatch?_url=${encodeURIComponent(target.url)}&_callback=http://192.168.1.1/`, { body: "x" }, "_callback"],
      [`/dispatch?_url=${encodeURIComponent(target.url)}&_errback=ftp://example.com/`, { body: "x" }, "_errback"],
    ];
    for (const [path, init, field] of cases) {
      const response = await api(suite.hookd.url, path, { method: "POST", ...init });
      expect([400, 422], `${path} ${field}`).toContain(response.status);
      expect(response.headers.get("content-type")).toBe("application/problem+json");
      expect((await response.json()).field).toBe(field);
    }
    const publish = await api(
      suite.hookd.url,
      `/dispatch?_topic=reports/x&_callback=${encodeURIComponent(target.url)}`,
      {
        method: "POST",
        body: "x",
      },
    );
    expect(publish.status).toBe(400);
    expect((await publish.json()).field).toBe("_callback");
    const subscription = await api(suite.hookd.url, "/api/v1/subscriptions", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ topic: "ssrf", url: target.url, errback_url: "http://10.1.2.3/" }),
    });
    expect(subscription.status).toBe(422);
    expect((await subscription.json()).field).toBe("errback_url");
    // An empty report URL is a 400 that says it is empty, not that a URL is required.
    for (
      const [path, body] of [
        ["/api/v1/deliveries", { url: target.url, callback_url: "" }],
        ["/api/v1/subscriptions", { topic: "empty", url: target.url, callback_url: "" }],
      ] as const
    ) {
      const empty = await api(suite.hookd.url, path, { method: "POST", headers: json, body: JSON.stringify(body) });
      expect(empty.status, path).toBe(400);
      const problem = await empty.json();
      expect(problem.field ?? problem.errors?.[0]?.field, path).toBe("callback_url");
      expect(JSON.stringify(problem), path).toMatch(/"callback_url\\" is empty/);
    }
    await quiet(300);
    expect(target.requests).toHaveLength(0);
  });
});

describe("a subscription's callback and errback", () => {
  async function subscribe(topic: string, url: string, extra: Record<string, unknown>) {
    const response = await api(suite.hookd.url, "/api/v1/subscriptions", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ topic, url, secret, ...extra }),
    });
    expect(response.status, await response.clone().text()).toBe(201);
    return (await response.json()) as Record<string, any>;
  }

  async function publish(topic: string, body: string) {
    const response = await api(suite.hookd.url, `/pub/${topic}`, { method: "POST", body });
    expect(response.status).toBe(202);
  }

  it("reports each delivery to the callback, and only failures and the disabling to the errback", async () => {
    // A second instance sees the disabling too, and makes its errback under the same id.
    const other = await startTestHookd(suite.nats.url, env);
    try {
      await reportsAndDisabling();
    } finally {
      await other.stop();
    }
  });

  async function reportsAndDisabling() {
    let failing = false;
    const target = await suite.startReceiver(() => ({ status: failing ? 500 : 200 }));
    const callback = await suite.startReceiver();
    const errback = await suite.startReceiver();
    const created = await subscribe("reports/orders", target.url, {
      callback_url: callback.url,
      errback_url: errback.url,
    });
    // Stored as URLs normalise them.
    expect(created.callback_url).toBe(`${callback.url}/`);
    expect(created.errback_url).toBe(`${errback.url}/`);
    await publish("reports/orders", '{"n":1}');
    await callback.waitFor(1);
    expect(verified(callback.requests[0]!)).toMatchObject({
      type: "delivery.delivered",
      subscription_id: created.id,
    });
    await quiet(300);
    expect(errback.requests).toHaveLength(0);
    // Two failed deliveries (HOOKD_FAILURE_THRESHOLD 2) disable it.
    failing = true;
    await publish("reports/orders", '{"n":2}');
    await publish("reports/orders", '{"n":3}');
    const reports = await eventually(
      async () => {
        const bodies = errback.requests.map((request) => verified(request));
        return bodies.length >= 3 ? bodies : undefined;
      },
      20_000,
      "two failure reports and a disabled one",
    );
    const types = reports.map((report: any) => report.type).sort();
    expect(types).toEqual(["delivery.failed", "delivery.failed", "subscription.disabled"]);
    const disabled = reports.find((report: any) => report.type === "subscription.disabled");
    expect(disabled.subscription_id).toBe(created.id);
    expect(disabled.reason).toMatch(/disabled after 2 consecutive failed deliveries/);
    expect(disabled.target).toBe(`${target.url}/`);
    expect(Date.parse(disabled.at)).not.toBeNaN();
    const disabledRequest = errback.requests.find((request) =>
      JSON.parse(request.body.toString()).type === "subscription.disabled"
    )!;
    const view = await waitForState(suite.hookd.url, disabledRequest.headers["webhook-id"] as string, "delivered");
    expect(view.report_of).toEqual({ kind: "errback", delivery_id: null, subscription_id: created.id });
    expect(view.links.report_of).toBe(`/api/v1/subscriptions/${created.id}`);
    // Exactly one disabled report, however many instances saw the disable.
    await quiet(500);
    expect(errback.requests.filter((r) => JSON.parse(r.body.toString()).type === "subscription.disabled"))
      .toHaveLength(1);
    expect(callback.requests.length).toBeGreaterThanOrEqual(3);
  }

  it(
    "an ordered plain subscription: reports signed with the server's secret, its line held by the disabling",
    async () => {
      let failing = new Set(["1", "2"]);
      const target = await suite.startReceiver((request) => ({
        status: failing.has(request.body.toString()) ? 500 : 200,
      }));
      const callback = await suite.startReceiver();
      const errback = await suite.startReceiver();
      // No secret, plain dialect: the deliveries go unsigned, and their reports are signed with the server's secret.
      const response = await api(suite.hookd.url, "/api/v1/subscriptions", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          topic: "reports/ordered",
          url: target.url,
          dialect: "plain",
          ordered: true,
          callback_url: callback.url,
          errback_url: errback.url,
        }),
      });
      expect(response.status).toBe(201);
      const sub = await response.json();
      for (let i = 0; i < 4; i++) await publish("reports/ordered", String(i));
      const errbacks = await eventually(
        async () => {
          const reports = errback.requests.map((request) => verified(request));
          return reports.length >= 3 ? reports : undefined;
        },
        30_000,
        "two failure reports and the disabling",
      );
      expect(errbacks.map((report: any) => report.type).sort())
        .toEqual(["delivery.failed", "delivery.failed", "subscription.disabled"]);
      await quiet(1_500);
      // Three attempts each (HOOKD_RETRY_SCHEDULE 100ms,100ms), one event at a time; "3" waits behind the disabled line.
      expect(target.requests.map((request) => request.body.toString())).toEqual(["0", "1", "1", "1", "2", "2", "2"]);
      expect(target.requests[0]!.headers["webhook-signature"]).toBeUndefined();
      // Reports are deliveries of their own, not in the line: their order is not promised.
      expect(callback.requests.map((request) => verified(request).type).sort())
        .toEqual(["delivery.delivered", "delivery.failed", "delivery.failed"]);
      const view = await (await api(suite.hookd.url, `/api/v1/subscriptions/${sub.id}`)).json();
      expect(view.state).toBe("disabled");
      expect(view.ordered_line.head.state).toBe("failed");
      expect(view.ordered_line.waiting).toBe(1);
      failing = new Set();
      const activated = await api(suite.hookd.url, `/api/v1/subscriptions/${sub.id}/activate`, { method: "POST" });
      expect(activated.status).toBe(200);
      await target.waitFor(8, 20_000);
      expect(target.requests.at(-1)!.body.toString()).toBe("3");
      await callback.waitFor(4, 20_000);
      await quiet(1_000);
      expect(callback.requests).toHaveLength(4);
      expect(verified(callback.requests[3]!)).toMatchObject({ type: "delivery.delivered", subscription_id: sub.id });
      expect(errback.requests).toHaveLength(3);
    },
    90_000,
  );

  it("clears its URLs with null", async () => {
    const target = await suite.startReceiver();
    const created = await subscribe("reports/cleared", target.url, { callback_url: target.url });
    const response = await api(suite.hookd.url, `/api/v1/subscriptions/${created.id}`, {
      method: "PATCH",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ callback_url: null, errback_url: target.url }),
    });
    expect(response.status).toBe(200);
    const updated = await response.json();
    expect(updated.callback_url).toBeNull();
    expect(updated.errback_url).toBe(`${target.url}/`);
  });
});

export type { Receiver };

describe("a report larger than a NATS message", () => {
  // 96 KiB messages: a receiver's 64 KiB answer, base64 in the report and again in its created event, does not fit.
  const small = hookdSuite({ receiver: false, nats: { maxPayloadBytes: 96 * 1024 }, env });

  it("is cut to fit and says so, and holds neither the delivery's ending nor an ordered line", async () => {
    const answer = "r".repeat(64 * 1024);
    const target = await small.startReceiver(() => ({ status: 200, body: answer }));
    const callback = await small.startReceiver();
    const created = await api(small.hookd.url, "/api/v1/subscriptions", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ topic: "reports/large", url: target.url, ordered: true, callback_url: callback.url }),
    });
    expect(created.status).toBe(201);
    for (const body of ["first", "second"]) {
      expect((await api(small.hookd.url, "/pub/reports/large", { method: "POST", body })).status).toBe(202);
    }
    await target.waitFor(2, 20_000);
    expect(target.requests.map((request) => request.body.toString())).toEqual(["first", "second"]);
    await callback.waitFor(2, 20_000);
    for (const request of callback.requests) {
      const report = JSON.parse(request.body.toString());
      expect(report.type).toBe("delivery.delivered");
      expect(report.last_response.truncated).toBe(true);
      const kept = Buffer.from(report.last_response.body_base64, "base64").toString();
      expect(kept.length).toBeGreaterThan(1_000);
      expect(answer.startsWith(kept)).toBe(true);
    }
  }, 60_000);
});
