import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../src/log.ts";
import { adminToken, api, eventually, startTestHookd, tokenFor } from "./support/hookd.ts";
import { openWs } from "./support/stream-clients.ts";
import { hookdSuite } from "./support/suite.ts";

/**
 * `?token=` authenticates only the stream routes, where a browser's EventSource or WebSocket cannot
 * send a header (issue 10, item 3). Anywhere else it is a 400 that says to use the header and never
 * repeats the token; and hookd, logging everything it can, never writes a query token down.
 */

const suite = hookdSuite({ hookd: "none", receiver: false });
const logged: string[] = [];
let admin: string;

beforeAll(async () => {
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logged.push(String(chunk));
      done();
    },
  });
  suite.hookd = await startTestHookd(suite.nats.url, {}, createLogger("trace", sink));
  admin = await adminToken();
});

afterAll(async () => {
  await suite.hookd?.stop();
  // Stopping logs too; nothing it writes may hold the token either.
  expect(logged.length).toBeGreaterThan(0);
  for (const line of logged) expect(line).not.toContain(admin);
});

const get = (path: string, headers: Record<string, string> = {}) => fetch(`${suite.hookd.url}${path}`, { headers });

describe("?token= off the stream routes", () => {
  it.each(["/api/v1/deliveries", "/metrics", "/api/v1/subscriptions?limit=1"])(
    "GET %s with ?token= is a 400 that names the parameter and says to send a header",
    async (path) => {
      const response = await get(`${path}${path.includes("?") ? "&" : "?"}token=${admin}`);
      const text = await response.text();
      expect(response.status).toBe(400);
      expect(response.headers.get("content-type")).toBe("application/problem+json");
      const problem = JSON.parse(text);
      expect(problem).toMatchObject({ type: "urn:hookd:problem:bad-request", status: 400, field: "token" });
      expect(problem.detail).toContain("only accepted on stream routes");
      expect(problem.detail).toContain("Authorization: Bearer");
      expect(text).not.toContain(admin);
      expect(response.headers.get("location") ?? "").not.toContain(admin);
    },
  );

  it("is refused even alongside a good header, which alone works", async () => {
    const both = await get(`/api/v1/deliveries?token=${admin}`, { authorization: `Bearer ${admin}` });
    expect(both.status).toBe(400);
    expect(await both.text()).not.toContain(admin);
    expect((await get("/api/v1/deliveries", { authorization: `Bearer ${admin}` })).status).toBe(200);
    expect((await get("/metrics", { authorization: `Bearer ${admin}` })).status).toBe(200);
  });

  it("is refused on other methods too, and a wrong one is not echoed either", async () => {
    const post = await api(suite.hookd.url, `/pub/qt/post?token=${admin}`, { method: "POST", body: "x" });
    expect(post.status).toBe(400);
    expect(await post.text()).not.toContain(admin);
    const wrong = "f".repeat(40);
    const refused = await get(`/api/v1/deliveries?token=${wrong}`);
    expect(refused.status).toBe(400);
    expect(await refused.text()).not.toContain(wrong);
  });
});

describe("?token= on the stream routes", () => {
  it("authenticates /sse/, /sub/ over SSE, and Hookah's /stream", async () => {
    const topic = "qt/sse";
    const exact = await tokenFor(`/sub/${topic}`);
    for (
      const [path, accept] of [
        [`/sse/${topic}?token=${exact}`, "*/*"],
        [`/sub/${topic}?token=${admin}`, "text/event-stream"],
        [`/stream?topic=${encodeURIComponent(topic)}&token=${exact}`, "*/*"],
      ]
    ) {
      const response = await get(path!, { accept: accept! });
      expect(response.status, path).toBe(200);
      await response.body!.cancel();
    }
    const wrong = await get(`/sse/${topic}?token=${await tokenFor("/sub/other")}`);
    expect(wrong.status).toBe(401);
    await wrong.body?.cancel();
  });

  it("authenticates a WebSocket upgrade on /sub/", async () => {
    const client = await openWs(`${suite.hookd.url}/sub/qt/ws?token=${admin}`, {});
    expect(client.socket.readyState).toBe(1);
    client.close();
  });

  it("and a stream route's refusal neither echoes nor logs it", async () => {
    const response = await get(`/sse/qt/bad?since=yesterday&token=${admin}`);
    expect(response.status).toBe(400);
    expect(await response.text()).not.toContain(admin);
  });
});

describe("a stream request with ?token= that hookd logs about", () => {
  it("logs a warning without the token while NATS is away", async () => {
    await suite.nats.pause();
    try {
      const before = logged.length;
      const response = await get(`/sse/qt/away?token=${admin}`);
      await response.body?.cancel();
      expect(response.status).toBeGreaterThanOrEqual(500);
      await eventually(async () => logged.length > before, 5_000, "a log line");
      for (const line of logged) expect(line).not.toContain(admin);
    } finally {
      await suite.nats.restart();
    }
  });
});
