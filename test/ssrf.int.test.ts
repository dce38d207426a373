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

  /**
   * IPv6 forms that embed a private or loopback IPv4 address, and a unique-local address: each must
   * be refused at ingest on every way to name a target. Loopback is not allowed in this suite, and
   * nothing here may connect anywhere, so only the refusal is checked.
   */
  describe("IPv6 forms that embed IPv4, and non-public IPv6", () => {
    const HOSTS: [string, RegExp][] = [
      ["[::10.0.0.1]", /IPv4-compatible .* embedding 10\.0\.0\.1, which is private/],
      ["[::127.0.0.1]", /IPv4-compatible .* embedding 127\.0\.0\.1, which is loopback/],
      ["[::ffff:10.0.0.1]", /IPv4-mapped .* embedding 10\.0\.0\.1, which is private/],
      ["[64:ff9b::a00:1]", /NAT64 .* embedding 10\.0\.0\.1, which is private/],
      ["[2002:a00:1::]", /6to4 .* embedding 10\.0\.0\.1, which is private/],
      ["[fc00::1]", /unique local \(fc00::\/7\)/],
    ];
    const json = (body: unknown) => ({
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    const multipart = (url: string) => {
      const form = new FormData();
      form.set("_url", url);
      form.set("a", "1");
      return { method: "POST", body: form };
    };
    const WAYS: [string, (url: string) => Promise<Response>][] = [
      [
        "POST /dispatch?_url=",
        (url) => api(suite.hookd.url, `/dispatch?_url=${encodeURIComponent(url)}`, { method: "POST", body: "x" }),
      ],
      ["POST /dispatch, _url in a form", (url) =>
        api(suite.hookd.url, "/dispatch", {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({ _url: url, a: "1" }).toString(),
        })],
      ["POST /dispatch, _url in multipart", (url) => api(suite.hookd.url, "/dispatch", multipart(url))],
      ["POST /dispatch, _url in JSON", (url) => api(suite.hookd.url, "/dispatch", json({ _url: url, a: 1 }))],
      [
        "POST /dispatch/<base64url>",
        (url) =>
          api(suite.hookd.url, `/dispatch/${Buffer.from(url).toString("base64url")}`, { method: "POST", body: "x" }),
      ],
      ["POST /api/v1/deliveries", (url) => post(url)],
      ["WebSub hub.callback", (url) =>
        api(suite.hookd.url, "/hub", {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({
            "hub.mode": "subscribe",
            "hub.callback": url,
            "hub.topic": "https://example.com/t",
          })
            .toString(),
        })],
      [
        "POST /api/v1/subscriptions",
        (url) => api(suite.hookd.url, "/api/v1/subscriptions", json({ topic: "ssrf6", url })),
      ],
    ];

    it.each(WAYS)("%s refuses each of them with 422 and says why", async (_way, create) => {
      for (const [host, why] of HOSTS) {
        const response = await create(`http://${host}:${suite.receiver.port}/hook`);
        expect(response.status, host).toBe(422);
        const problem = await response.json();
        expect(problem.type, host).toBe("urn:hookd:problem:forbidden-target");
        expect(problem.detail, host).toMatch(why);
        expect(problem.detail, host).toMatch(/HOOKD_ALLOWED_NETWORKS/);
      }
    });

    it("PATCH /api/v1/subscriptions/<id> refuses each of them as the new url", async () => {
      // Never published to, so this public URL is never connected to.
      const created = await api(
        suite.hookd.url,
        "/api/v1/subscriptions",
        json({ topic: "ssrf6-patch", url: "https://example.com/hook" }),
      );
      expect(created.status).toBe(201);
      const { id } = await created.json();
      for (const [host, why] of HOSTS) {
        const response = await api(suite.hookd.url, `/api/v1/subscriptions/${id}`, {
          ...json({ url: `http://${host}/hook` }),
          method: "PATCH",
        });
        expect(response.status, host).toBe(422);
        expect((await response.json()).detail, host).toMatch(why);
      }
    });
  });
});
