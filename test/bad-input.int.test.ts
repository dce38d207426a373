import { describe, expect, it } from "vitest";
import { hookdSuite } from "./support/suite.ts";
import { adminToken, api, tokenFor } from "./support/hookd.ts";

const suite = hookdSuite({ env: { HOOKD_MAX_BODY: "16KiB" } });

async function expectProblem(response: Response, status: number, detail: RegExp) {
  expect(response.status).toBe(status);
  expect(response.headers.get("content-type")).toBe("application/problem+json");
  const problem = await response.json();
  expect(problem.type).toMatch(/^urn:hookd:problem:/);
  expect(problem.title).toBeTruthy();
  expect(problem.status).toBe(status);
  expect(problem.detail).toMatch(detail);
  return problem;
}

/** A POST of `body` (JSON unless already text) labelled application/json. */
const postJson = (path: string, body: unknown) =>
  api(suite.hookd.url, path, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });

describe("bad input gets a clear 4xx and loses nothing", () => {
  it("missing _url", async () =>
    expectProblem(await api(suite.hookd.url, "/dispatch", { method: "POST", body: "x" }), 400, /"_url" is required/));
  it("_url that is not a URL", async () =>
    expectProblem(
      await api(suite.hookd.url, "/dispatch?_url=not%20a%20url", { method: "POST", body: "x" }),
      400,
      /not a URL/,
    ));
  it("_url with another scheme", async () =>
    expectProblem(
      await api(suite.hookd.url, "/dispatch?_url=ftp://example.com/x", { method: "POST", body: "x" }),
      400,
      /http or https/,
    ));
  it("malformed JSON", async () =>
    expectProblem(
      await api(suite.hookd.url, "/dispatch", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{nope",
      }),
      400,
      /labelled application\/json \(Content-Type\) but is not JSON/,
    ));
  it("malformed multipart", async () =>
    expectProblem(
      await api(suite.hookd.url, "/dispatch", {
        method: "POST",
        headers: { "content-type": "multipart/form-data; boundary=zzz" },
        body: "garbage",
      }),
      400,
      /multipart/,
    ));
  it("a target path that is not base64url", async () =>
    expectProblem(await api(suite.hookd.url, "/dispatch/!!!", { method: "POST", body: "x" }), 400, /base64url/));
  it("a body over HOOKD_MAX_BODY", async () => {
    const problem = await expectProblem(
      await api(suite.hookd.url, `/dispatch?_url=${encodeURIComponent(suite.receiver.url)}`, {
        method: "POST",
        body: "z".repeat(17 * 1024),
      }),
      413,
      /limited to 16384 bytes/,
    );
    expect(problem.limit).toBe(16384);
  });
  it("a chunked body (no Content-Length) over HOOKD_MAX_BODY", async () => {
    const chunk = new Uint8Array(4096).fill(120);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 8) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const response = await api(
      suite.hookd.url,
      `/dispatch?_url=${encodeURIComponent(suite.receiver.url)}`,
      { method: "POST", body, duplex: "half" } as RequestInit,
    );
    await expectProblem(response, 413, /limited to 16384 bytes/);
  });
  it("API: a body over HOOKD_MAX_BODY once decoded", async () =>
    expectProblem(
      await postJson("/api/v1/deliveries", { url: suite.receiver.url, body: "q".repeat(20_000) }),
      413,
      /limited to 16384 bytes \(HOOKD_MAX_BODY\)/,
    ));
  it("API: a request too large for any body HOOKD_MAX_BODY allows, as base64 in JSON", async () =>
    expectProblem(
      await postJson("/api/v1/deliveries", { url: suite.receiver.url, body: "q".repeat(100_000) }),
      413,
      /limited to \d+ bytes \(HOOKD_MAX_BODY's 16384 bytes, as base64 in JSON\)/,
    ));
  it("API: a settings body over the JSON API's own 64 KiB, which HOOKD_MAX_BODY does not set", async () => {
    const problem = await expectProblem(
      await postJson("/api/v1/subscriptions", {
        topic: "big/settings",
        url: suite.receiver.url,
        description: "d".repeat(70_000),
      }),
      413,
      /^Bodies on this path are limited to 65536 bytes\.$/,
    );
    expect(problem.limit).toBe(65_536);
  });
  it("API: a page size, a cursor or a state no list takes", async () => {
    for (
      const [path, detail] of [
        ["/api/v1/deliveries?limit=0", /limit must be a whole number from 1 to 100/],
        ["/api/v1/subscriptions?limit=2.5", /limit must be a whole number from 1 to 100/],
        ["/api/v1/subscriptions?cursor=zzz", /cursor must be a next_cursor value from a previous page/],
        ["/api/v1/deliveries/changes?state=zzz", /state must be one of pending, /],
      ] as const
    ) {
      await expectProblem(await api(suite.hookd.url, path), 400, detail);
    }
  });
  it("API: each unknown field of a body is named, and a bulk filter's state says what it takes", async () => {
    const unknown = await expectProblem(
      await postJson("/api/v1/subscriptions", {
        topic: "t",
        url: suite.receiver.url,
        colour: "red",
        headers: {},
        size: 1,
      }),
      400,
      /^colour: not a field this takes; size: not a field this takes$/,
    );
    expect(unknown.errors.map((e: { field: string }) => e.field)).toEqual(["colour", "size"]);
    await expectProblem(
      await postJson("/api/v1/deliveries/bulk", { action: "retry", filter: { state: "nope" } }),
      400,
      /filter\.state: state must be one of pending, .*, or a list of them/,
    );
    await expectProblem(
      await postJson("/api/v1/deliveries/bulk", { action: "retry", filter: { state: [] } }),
      400,
      /state lists at least one state/,
    );
  });
  it("API: a body that is not JSON", async () =>
    expectProblem(
      await postJson("/api/v1/deliveries", "["),
      400,
      /JSON object/,
    ));
  it("API: fields are named in the error", async () => {
    const problem = await expectProblem(
      await api(suite.hookd.url, "/api/v1/deliveries", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          url: suite.receiver.url,
          method: "TRACE",
          secret: "nope",
          headers: { "bad header": "x" },
          surprise: 1,
        }),
      }),
      400,
      /method/,
    );
    const fields = problem.errors.map((e: { field: string | null; message: string }) => e.field ?? e.message);
    expect(fields).toEqual(expect.arrayContaining(["method", "secret", "headers.bad header"]));
    expect(problem.detail).toMatch(/surprise/);
  });
  it("API: body and body_base64 together", async () =>
    expectProblem(
      await postJson("/api/v1/deliveries", { url: suite.receiver.url, body: "a", body_base64: "YQ==" }),
      400,
      /either body or body_base64/,
    ));
  it("API: a content_type that would split the header", async () =>
    expectProblem(
      await postJson("/api/v1/deliveries", {
        url: suite.receiver.url,
        body: "a",
        content_type: "text/html\r\nx-evil: 1",
      }),
      400,
      /content_type.*CR, LF or NUL/,
    ));
  it("API: a bad Idempotency-Key", async () =>
    expectProblem(
      await api(suite.hookd.url, "/api/v1/deliveries", {
        method: "POST",
        headers: { "content-type": "application/json", "idempotency-key": "x".repeat(300) },
        body: JSON.stringify({ url: suite.receiver.url }),
      }),
      400,
      /Idempotency-Key/,
    ));
  it("API: unknown delivery ids and routes", async () => {
    await expectProblem(
      await api(suite.hookd.url, "/api/v1/deliveries/dlv_01ARZ3NDEKTSV4RRFFQ69G5FAV"),
      404,
      /no delivery/,
    );
    await expectProblem(await api(suite.hookd.url, "/api/v1/deliveries/whatever"), 404, /no delivery/);
    await expectProblem(
      await api(suite.hookd.url, "/api/v1/deliveries/dlv_01ARZ3NDEKTSV4RRFFQ69G5FAV/retry", { method: "POST" }),
      404,
      /no delivery/,
    );
    await expectProblem(await api(suite.hookd.url, "/nope"), 404, /not a hookd route/);
  });
  it("API: bad list parameters", async () => {
    await expectProblem(await api(suite.hookd.url, "/api/v1/deliveries?state=lost"), 400, /state must be one of/);
    await expectProblem(await api(suite.hookd.url, "/api/v1/deliveries?limit=1000"), 400, /at most 100/);
    await expectProblem(await api(suite.hookd.url, "/api/v1/deliveries?cursor=abc"), 400, /cursor/);
  });
  it("nothing from the rejected requests reached the receiver, and hookd still works", async () => {
    expect(suite.receiver.requests).toHaveLength(0);
    const ok = await api(suite.hookd.url, `/dispatch?_url=${encodeURIComponent(suite.receiver.url)}`, {
      method: "POST",
      body: "fine",
    });
    expect(ok.status).toBe(202);
    await suite.receiver.waitFor(1);
  });
});

describe("auth (Hookbot-compatible tokens)", () => {
  const dispatchPath = () => `/dispatch?_url=${encodeURIComponent(suite.receiver.url)}`;

  it("refuses a request without a token: 401 with WWW-Authenticate", async () => {
    const response = await fetch(`${suite.hookd.url}${dispatchPath()}`, { method: "POST", body: "x" });
    await expectProblem(response, 401, /Send the token/);
    expect(response.headers.get("www-authenticate")).toBe('Basic realm="hookd"');
  });
  it("refuses a wrong token", async () => {
    const response = await fetch(`${suite.hookd.url}/api/v1/deliveries`, { headers: { authorization: "Bearer 0000" } });
    await expectProblem(response, 401, /does not grant/);
  });
  it("accepts the token as Basic user name, Basic password or Bearer", async () => {
    const token = await tokenFor("/dispatch");
    for (const authorization of [`Basic ${btoa(`${token}:`)}`, `Basic ${btoa(`:${token}`)}`, `Bearer ${token}`]) {
      const response = await fetch(`${suite.hookd.url}${dispatchPath()}`, {
        method: "POST",
        body: "x",
        headers: { authorization },
      });
      expect(response.status, authorization).toBe(202);
    }
  });
  it("a token for a path grants only that path", async () => {
    const token = await tokenFor("/dispatch");
    const other = await fetch(`${suite.hookd.url}/api/v1/deliveries`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(other.status).toBe(401);
  });
  it("a token for a path ending in / grants everything below it", async () => {
    const token = await tokenFor("/api/v1/deliveries/");
    const created = await postJson("/api/v1/deliveries", { url: suite.receiver.url });
    const { id } = await created.json();
    const below = await fetch(`${suite.hookd.url}/api/v1/deliveries/${id}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(below.status).toBe(200);
    const beside = await fetch(`${suite.hookd.url}/api/v1/machines/delivery`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(beside.status).toBe(401);
  });
  it("the admin token grants everything, and /healthz needs no token", async () => {
    const admin = await adminToken();
    expect(
      (await fetch(`${suite.hookd.url}/api/v1/machines/delivery`, { headers: { authorization: `Bearer ${admin}` } }))
        .status,
    ).toBe(200);
    const health = await fetch(`${suite.hookd.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: "ok", nats: "connected", streams: "led", leaderless_streams: [] });
  });
});
