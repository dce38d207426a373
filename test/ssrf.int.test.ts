import { describe, expect, it } from "vitest";
import { hookdSuite } from "./support/suite.ts";
import { api, waitForState } from "./support/hookd.ts";

// This hookd allows no private networks at all, as in production.
const suite = hookdSuite({ env: { HOOKD_ALLOWED_NETWORKS: "" } });

const post = (url: string) =>
  api(suite.hookd.url, "/api/v1/deliveries", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ url, body: "x" }),
  });

describe("SSRF guard", () => {
  it("refuses literal private, loopback, link-local and unspecified targets at ingest with 422", async () => {
    for (
      const host of [
        "127.0.0.1",
        "10.0.0.8",
        "192.168.1.10",
        "169.254.169.254",
        "0.0.0.0",
        "[::1]",
        "[::ffff:127.0.0.1]",
      ]
    ) {
      const response = await post(`http://${host}:${suite.receiver.port}/x`);
      expect(response.status, host).toBe(422);
      const problem = await response.json();
      expect(problem.type).toBe("urn:hookd:problem:forbidden-target");
      expect(problem.detail).toMatch(/HOOKD_ALLOWED_NETWORKS/);
    }
    const hookah = await api(
      suite.hookd.url,
      `/dispatch?_url=${encodeURIComponent(`http://127.0.0.1:${suite.receiver.port}/`)}`,
      { method: "POST", body: "x" },
    );
    expect(hookah.status).toBe(422);
  });

  it("fails permanently, without connecting, when a name resolves to a forbidden address", async () => {
    const response = await post(`http://localhost:${suite.receiver.port}/x`);
    expect(response.status).toBe(202);
    const { id } = await response.json();
    const view = await waitForState(suite.hookd.url, id, "failed");
    expect(view.failure_reason).toBe("permanent");
    expect(view.attempts).toHaveLength(1);
    expect(view.attempts[0].error).toMatch(
      /resolves to (127\.0\.0\.1|::1), which HOOKD_ALLOWED_NETWORKS does not allow/,
    );
    expect(suite.receiver.requests).toHaveLength(0);
  });
});
