import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestNats, type TestNats } from "./support/nats-server.ts";
import { startReceiver, type Receiver } from "./support/receiver.ts";
import { api, startTestHookd, waitForState, type TestHookd } from "./support/hookd.ts";

// This hookd allows no private networks at all, as in production.
let nats: TestNats;
let hookd: TestHookd;
let r: Receiver;

beforeAll(async () => {
  nats = await startTestNats();
  hookd = await startTestHookd(nats.url, { HOOKD_ALLOWED_NETWORKS: "" });
  r = await startReceiver();
});

afterAll(async () => {
  await r?.stop();
  await hookd?.stop();
  await nats?.stop();
});

const post = (url: string) =>
  api(hookd.url, "/api/v1/deliveries", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ url, body: "x" }) });

describe("SSRF guard", () => {
  it("refuses literal private, loopback, link-local and unspecified targets at ingest with 422", async () => {
    for (const host of ["127.0.0.1", "10.0.0.8", "192.168.1.10", "169.254.169.254", "0.0.0.0", "[::1]", "[::ffff:127.0.0.1]"]) {
      const response = await post(`http://${host}:${r.port}/x`);
      expect(response.status, host).toBe(422);
      const problem = await response.json();
      expect(problem.type).toBe("urn:hookd:problem:forbidden-target");
      expect(problem.detail).toMatch(/HOOKD_ALLOWED_NETWORKS/);
    }
    const hookah = await api(hookd.url, `/dispatch?_url=${encodeURIComponent(`http://127.0.0.1:${r.port}/`)}`, { method: "POST", body: "x" });
    expect(hookah.status).toBe(422);
  });

  it("fails permanently, without connecting, when a name resolves to a forbidden address", async () => {
    const response = await post(`http://localhost:${r.port}/x`);
    expect(response.status).toBe(202);
    const { id } = await response.json();
    const view = await waitForState(hookd.url, id, "failed");
    expect(view.failure_reason).toBe("permanent");
    expect(view.attempts).toHaveLength(1);
    expect(view.attempts[0].error).toMatch(/resolves to (127\.0\.0\.1|::1), which HOOKD_ALLOWED_NETWORKS does not allow/);
    expect(r.requests).toHaveLength(0);
  });
});
