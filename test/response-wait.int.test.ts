import { describe, expect, it } from "vitest";
import { toBase64Url } from "../src/domain/bytes.ts";
import { api, deliveryOf, startTestHookd, waitForState } from "./support/hookd.ts";
import { hookdSuite } from "./support/suite.ts";

/**
 * Inline mode (issue 13): `Prefer: wait=N` (or `?_wait=N` on Hookah's forms) holds a dispatch until
 * its first attempt ends and answers with the receiver's answer, against real receivers and a real
 * nats-server; the wait running out, the cap, the proxy form's reserved parameters, and a wait whose
 * attempt another instance makes.
 */

// HOOKD_TIMEOUT 2s (the test default) makes the cap 7 s; the retries wait long enough to be seen in backoff.
const suite = hookdSuite({ receiver: false, env: { HOOKD_RETRY_SCHEDULE: "1s,1s" } });

function createWithWait(url: string, prefer: string, extra: Record<string, unknown> = {}, base = suite.hookd.url) {
  return api(base, "/api/v1/deliveries", {
    method: "POST",
    headers: { "content-type": "application/json", prefer },
    body: JSON.stringify({ url, body: { hello: "inline" }, ...extra }),
  });
}

describe("inline mode", () => {
  it("answers with the receiver's status, passed headers and body, and names the delivery", async () => {
    const receiver = await suite.startReceiver(() => ({
      status: 201,
      headers: {
        "content-type": "application/json",
        "x-receiver": "yes",
        "set-cookie": "session=1",
        "location": "/relative",
        "access-control-allow-origin": "*",
      },
      body: '{"ok":true,"seen":1}',
    }));
    const response = await createWithWait(`${receiver.url}/hook`, "wait=5");
    expect(response.status).toBe(201);
    expect(await response.text()).toBe('{"ok":true,"seen":1}');
    const id = response.headers.get("hookd-delivery-id")!;
    expect(id).toMatch(/^dlv_/);
    expect(response.headers.get("hookd-delivery-state")).toBe("delivered");
    expect(response.headers.get("preference-applied")).toBe("wait=5");
    expect(response.headers.get("content-type")).toBe("application/json");
    expect(response.headers.get("x-receiver")).toBe("yes");
    for (const dropped of ["set-cookie", "location", "access-control-allow-origin", "hookd-response-truncated"]) {
      expect(response.headers.get(dropped), dropped).toBeNull();
    }
    expect(response.headers.get("x-content-type-options")).toBe("nosniff");
    // A receiver that names no content type: what HTTP assumes for it (RFC 9110 §8.3).
    const plain = await suite.startReceiver(() => ({ status: 200, body: "untyped" }));
    const untyped = await createWithWait(plain.url, "wait=5");
    expect(await untyped.text()).toBe("untyped");
    expect(untyped.headers.get("content-type")).toBe("application/octet-stream");
    expect(receiver.requests).toHaveLength(1);
    // The journal records what it always does.
    const view = await deliveryOf(suite.hookd.url, id);
    expect(view.state).toBe("delivered");
    expect(view.attempts).toHaveLength(1);
  });

  it("gives the first 64 KiB of a longer body and says it was cut", async () => {
    const receiver = await suite.startReceiver(() => ({
      status: 200,
      headers: { "content-type": "text/plain" },
      body: "a".repeat(70_000),
    }));
    const response = await createWithWait(receiver.url, "wait=5");
    expect(response.status).toBe(200);
    expect((await response.text()).length).toBe(64 * 1024);
    expect(response.headers.get("hookd-response-truncated")).toBe("true");
  });

  it("says a failed first attempt is retrying, and the delivery carries on", async () => {
    const receiver = await suite.startReceiver((_request, index) =>
      index === 0 ? { status: 503, headers: { "retry-after": "1" }, body: "busy" } : { status: 200, body: "ok" }
    );
    const response = await createWithWait(receiver.url, "wait=5");
    expect(response.status).toBe(503);
    expect(await response.text()).toBe("busy");
    expect(response.headers.get("retry-after")).toBe("1");
    expect(response.headers.get("hookd-delivery-state")).toBe("backoff");
    const id = response.headers.get("hookd-delivery-id")!;
    const view = await waitForState(suite.hookd.url, id, "delivered");
    expect(view.attempts).toHaveLength(2);
  });

  it("answers 502 when the first attempt got no answer at all", async () => {
    const receiver = await suite.startReceiver();
    await receiver.stop();
    const response = await createWithWait(receiver.url, "wait=5");
    expect(response.status).toBe(502);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
    expect(response.headers.get("hookd-delivery-state")).toBe("backoff");
    expect((await response.json()).type).toBe("urn:hookd:problem:no-answer");
  });

  it("answers 202 with respond-async when the wait runs out, and the delivery goes on", async () => {
    const receiver = await suite.startReceiver(() => ({ status: 200, body: "late", delayMs: 1_800 }));
    const started = Date.now();
    const response = await createWithWait(receiver.url, "wait=1");
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(response.status).toBe(202);
    const { id } = await response.json();
    expect(response.headers.get("location")).toBe(`/api/v1/deliveries/${id}`);
    expect(response.headers.get("preference-applied")).toBe("respond-async, wait=1");
    expect(response.headers.get("hookd-delivery-id")).toBe(id);
    expect(["pending", "in-flight"]).toContain(response.headers.get("hookd-delivery-state"));
    await waitForState(suite.hookd.url, id, "delivered");
  });

  it("caps a longer wait and says which wait it applied", async () => {
    const receiver = await suite.startReceiver(() => ({ status: 200, body: "ok" }));
    const response = await createWithWait(receiver.url, "respond-async, wait=3600");
    expect(response.status).toBe(200);
    expect(response.headers.get("preference-applied")).toBe("wait=7");
  });

  it("caps a wait of any length, in Prefer and in ?_wait=", async () => {
    const receiver = await suite.startReceiver(() => ({ status: 200, body: "ok" }));
    const prefer = await createWithWait(receiver.url, "wait=1000000000");
    expect(prefer.status).toBe(200);
    expect(prefer.headers.get("preference-applied")).toBe("wait=7");
    const query = await api(suite.hookd.url, `/dispatch?_url=${encodeURIComponent(receiver.url)}&_wait=99999999999`, {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: "long",
    });
    expect(query.status).toBe(200);
    expect(query.headers.get("preference-applied")).toBe("wait=7");
  });

  it("ignores a malformed Prefer, and without a wait answers 202 as ever", async () => {
    const receiver = await suite.startReceiver();
    for (const prefer of ["wait=soon", "handling=lenient", "wait=0"]) {
      const response = await createWithWait(receiver.url, prefer);
      expect(response.status, prefer).toBe(202);
      expect(response.headers.get("preference-applied"), prefer).toBeNull();
    }
  });

  it("takes ?_wait= on /dispatch and /dispatch/<target>, and refuses one that is not seconds", async () => {
    const receiver = await suite.startReceiver(() => ({ status: 200, headers: { "x-form": "1" }, body: "form ok" }));
    const form = await api(suite.hookd.url, `/dispatch?_url=${encodeURIComponent(receiver.url)}&_wait=5`, {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: "hi",
    });
    expect(form.status).toBe(200);
    expect(await form.text()).toBe("form ok");
    expect(form.headers.get("x-form")).toBe("1");
    expect(form.headers.get("preference-applied")).toBe("wait=5");
    const target = toBase64Url(new TextEncoder().encode(receiver.url));
    const raw = await api(suite.hookd.url, `/dispatch/${target}?_wait=5`, { method: "POST", body: "raw" });
    expect(raw.status).toBe(200);
    const bad = await api(suite.hookd.url, `/dispatch?_url=${encodeURIComponent(receiver.url)}&_wait=soon`, {
      method: "POST",
      body: "x",
    });
    expect(bad.status).toBe(400);
    expect((await bad.json()).field).toBe("_wait");
  });

  it("the proxy form waits, and forwards neither _wait, _callback, _errback nor Prefer's wait", async () => {
    const receiver = await suite.startReceiver(() => ({ status: 200, body: "proxied" }));
    const callback = await suite.startReceiver();
    const response = await api(
      suite.hookd.url,
      `/127.0.0.1:${receiver.port}/hook?a=1&_wait=5&_callback=${encodeURIComponent(callback.url)}&_errback=${
        encodeURIComponent(callback.url)
      }&_other=kept`,
      { method: "POST", headers: { prefer: "wait=5, handling=strict", "content-type": "text/plain" }, body: "p" },
    );
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("proxied");
    const request = receiver.requests[0]!;
    expect(request.path).toBe("/hook?a=1&_other=kept");
    expect(request.headers["prefer"]).toBe("handling=strict");
    // The callback it named was taken: it gets the report.
    await callback.waitFor(1);
    expect(JSON.parse(callback.requests[0]!.body.toString()).type).toBe("delivery.delivered");
  });

  it("says a replayed Idempotency-Key is a replay when it waits, as without a wait", async () => {
    const receiver = await suite.startReceiver(() => ({ status: 200, body: "once" }));
    const send = () =>
      api(suite.hookd.url, "/api/v1/deliveries", {
        method: "POST",
        headers: { "content-type": "application/json", prefer: "wait=5", "idempotency-key": "inline-replay-1" },
        body: JSON.stringify({ url: receiver.url, body: { hello: "inline" } }),
      });
    const first = await send();
    expect(first.status).toBe(200);
    expect(first.headers.get("idempotent-replayed")).toBeNull();
    const again = await send();
    expect(again.status).toBe(200);
    expect(await again.text()).toBe("once");
    expect(again.headers.get("hookd-delivery-id")).toBe(first.headers.get("hookd-delivery-id"));
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(receiver.requests).toHaveLength(1);
  });

  it("hears of the first attempt when another instance makes it", async () => {
    const front = await startTestHookd(suite.nats.url, { HOOKD_WORKERS: "off" });
    try {
      const receiver = await suite.startReceiver(() => ({ status: 202, body: "from the other instance" }));
      const response = await createWithWait(receiver.url, "wait=7", {}, front.url);
      expect(response.status).toBe(202);
      expect(await response.text()).toBe("from the other instance");
      expect(response.headers.get("hookd-delivery-state")).toBe("delivered");
      const view = await deliveryOf(suite.hookd.url, response.headers.get("hookd-delivery-id")!);
      expect(view.attempts[0].worker).not.toBeNull();
    } finally {
      await front.stop();
    }
  });

  it("holds at most HOOKD_INLINE_WAITS requests at once, and answers the next with a plain 202", async () => {
    const front = await startTestHookd(suite.nats.url, { HOOKD_INLINE_WAITS: "2" });
    try {
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      const slow = await suite.startReceiver(async () => {
        await held;
        return { status: 200, body: "slow" };
      });
      const waiting = [
        createWithWait(slow.url, "wait=7", {}, front.url),
        createWithWait(slow.url, "wait=7", {}, front.url),
      ];
      await slow.waitFor(2);
      const third = await createWithWait(slow.url, "wait=7", {}, front.url);
      expect(third.status).toBe(202);
      expect(third.headers.get("preference-applied")).toBeNull();
      expect((await third.json()).id).toMatch(/^dlv_/);
      release();
      for (const response of await Promise.all(waiting)) {
        expect(response.status).toBe(200);
        expect(response.headers.get("preference-applied")).toBe("wait=7");
      }
      // The places are given back: a later request waits again.
      const fast = await suite.startReceiver(() => ({ status: 200, body: "fast" }));
      const later = await createWithWait(fast.url, "wait=5", {}, front.url);
      expect(later.status).toBe(200);
      expect(later.headers.get("preference-applied")).toBe("wait=5");
    } finally {
      await front.stop();
    }
  });
});
