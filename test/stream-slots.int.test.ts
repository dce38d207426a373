import { describe, expect, it } from "vitest";
import { eventually, startTestHookd, type TestHookd, tokenFor } from "./support/hookd.ts";
import { rawRequestText, sendThenDestroy } from "./support/raw-http.ts";
import { upgradeStatus } from "./support/stream-clients.ts";
import { hookdSuite } from "./support/suite.ts";

/**
 * Every way a topic stream can end gives its slot back: hookd_streams_open returns to 0, and a
 * token's per-instance limit (2 here) is not used up by streams whose connections are gone.
 */

const LIMIT = { HOOKD_STREAM_MAX_PER_TOKEN: "2", HOOKD_STREAM_HEARTBEAT: "300ms" };
const suite = hookdSuite({ env: LIMIT });

async function openStreams(hookd: TestHookd): Promise<number> {
  const admin = await tokenFor("/");
  const text = await (await fetch(`${hookd.url}/metrics`, { headers: { authorization: `Bearer ${admin}` } })).text();
  const line = text.split("\n").find((candidate) => candidate.startsWith("hookd_streams_open "));
  return line ? Number(line.split(" ")[1]) : 0;
}

/** Back to no open stream within a short bounded wait. */
const allReleased = (hookd = suite.hookd) =>
  eventually(async () => (await openStreams(hookd)) === 0, 3_000, "hookd_streams_open to be 0");

const subToken = () => tokenFor("/sub/p/");
const bearer = async () => ({ authorization: `Bearer ${await subToken()}` });

/** With the limit at 2, a leak of even two slots would make this 429. */
async function aListenerStillGets200(hookd = suite.hookd): Promise<void> {
  const controller = new AbortController();
  const response = await fetch(`${hookd.url}/sse/p/n`, { headers: await bearer(), signal: controller.signal });
  expect(response.status).toBe(200);
  controller.abort();
  await response.body?.cancel().catch(() => undefined);
  await allReleased(hookd);
}

/** Ten tries of one way to end a stream, each followed by the count going back to 0. */
async function tenTimes(hookd: TestHookd, text: string, waitMs?: number, firstBytes?: RegExp): Promise<void> {
  for (let i = 0; i < 10; i++) {
    const read = await sendThenDestroy(hookd.url, text, waitMs);
    if (firstBytes) expect(read).toMatch(firstBytes);
    await allReleased(hookd);
  }
  await aListenerStillGets200(hookd);
}

const pipelinedPair = async () =>
  rawRequestText({ path: "/sse/p/l", headers: await bearer() }) +
  rawRequestText({ path: "/sse/p/m", headers: await bearer() });

describe("a stream's slot is released", () => {
  it("when two pipelined SSE GETs share a connection that then closes", async () => {
    await tenTimes(suite.hookd, await pipelinedPair(), 2_000, /^HTTP\/1\.1 200/);
  });

  it("when two pipelined SSE GETs are answered through web streams (CORS on), then the connection closes", async () => {
    const hookd = await startTestHookd(suite.nats.url, { ...LIMIT, HOOKD_CORS_ORIGINS: "https://app.example" });
    try {
      await tenTimes(hookd, await pipelinedPair(), 2_000, /^HTTP\/1\.1 200/);
    } finally {
      await hookd.stop();
    }
  });

  it("when the client goes right after sending the headers", async () => {
    await tenTimes(suite.hookd, rawRequestText({ path: "/sse/p/l", headers: await bearer() }), 0);
  });

  it("when the client goes in the middle of a WebSocket upgrade", async () => {
    const upgrade = rawRequestText({
      path: "/sub/p/l",
      headers: {
        ...(await bearer()),
        connection: "Upgrade",
        upgrade: "websocket",
        "sec-websocket-version": "13",
        "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
      },
    });
    await tenTimes(suite.hookd, upgrade, 0);
  });

  it("when a WebSocket upgrade is refused: a bad token, or over the token's limit", async () => {
    for (let i = 0; i < 10; i++) {
      expect(await upgradeStatus(`${suite.hookd.url}/sub/p/l`, { authorization: "Bearer 00" })).toBe(401);
    }
    const held = [0, 1].map(() => new AbortController());
    const opened = await Promise.all(
      held.map(async (controller) =>
        fetch(`${suite.hookd.url}/sse/p/l`, { headers: await bearer(), signal: controller.signal })
      ),
    );
    expect(opened.map((response) => response.status)).toEqual([200, 200]);
    for (let i = 0; i < 10; i++) expect(await upgradeStatus(`${suite.hookd.url}/sub/p/l`, await bearer())).toBe(429);
    for (const controller of held) controller.abort();
    await allReleased();
    expect(await upgradeStatus(`${suite.hookd.url}/sub/p/l`, await bearer())).toBe(101);
    await allReleased();
    await aListenerStillGets200();
  });

  it("for HEAD, which gets the headers and no stream", async () => {
    for (let i = 0; i < 10; i++) {
      const response = await fetch(`${suite.hookd.url}/sse/p/l`, { method: "HEAD", headers: await bearer() });
      expect(response.status).toBe(200);
    }
    await tenTimes(suite.hookd, rawRequestText({ method: "HEAD", path: "/sse/p/l", headers: await bearer() }));
  });

  it("when opening fails: a since or Last-Event-ID that is not one", async () => {
    for (let i = 0; i < 10; i++) {
      const bySince = await fetch(`${suite.hookd.url}/sse/p/l?since=yesterday`, { headers: await bearer() });
      const byId = await fetch(`${suite.hookd.url}/sse/p/l`, {
        headers: { ...(await bearer()), "last-event-id": "x" },
      });
      expect([bySince.status, byId.status]).toEqual([400, 400]);
    }
    await allReleased();
    await aListenerStillGets200();
  });

  it("when hookd stops its streams, including one opened after that", async () => {
    const hookd = await startTestHookd(suite.nats.url, LIMIT);
    const held = [0, 1].map(() => new AbortController());
    try {
      const opened = await Promise.all(
        held.map(async (controller) =>
          fetch(`${hookd.url}/sse/p/l`, { headers: await bearer(), signal: controller.signal })
        ),
      );
      expect(opened.map((response) => response.status)).toEqual([200, 200]);
      expect(await openStreams(hookd)).toBe(2);
      await hookd.hookd.closeStreams();
      await allReleased(hookd);
      const late = await fetch(`${hookd.url}/sse/p/l`, { headers: await bearer(), signal: held[0]!.signal });
      // Ended at once, with the reason in its last frame.
      expect(await late.text()).toContain("shutting-down");
      await allReleased(hookd);
    } finally {
      for (const controller of held) controller.abort();
      await hookd.stop();
    }
  });
});
