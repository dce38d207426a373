import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { TokenCheck } from "../domain/token-check.ts";
import { csrfTokenOf, isSameOrigin, judgeToken } from "./session.ts";

const KEY = "console-session-test-key-0123456789";
let now = 1_000_000;
const revoked = new Set<string>();
const tokens = new TokenCheck(KEY, { isRevoked: (id) => revoked.has(id), clock: () => now });

describe("who may open the console", () => {
  it("lets the admin token in", async () => {
    expect(await judgeToken(tokens, await tokens.hookbot.tokenFor("/"))).toEqual({ ok: true });
  });

  it("refuses a token for part of what the console shows, naming what it needs", async () => {
    const verdict = await judgeToken(tokens, await tokens.hookbot.tokenFor("/api/v1/"));
    expect(verdict).toMatchObject({ ok: false, message: expect.stringContaining("needs /api/v1/ and /sub/") });
  });

  it("says an expired or revoked admin token is expired or revoked", async () => {
    const expiring = await tokens.revocable.issue("/", now + 1_000, "expiring-token");
    now += 2_000;
    expect(await judgeToken(tokens, expiring)).toMatchObject({
      ok: false,
      message: expect.stringContaining("expired"),
    });
    const token = await tokens.revocable.issue("/", null, "revoked-token");
    revoked.add("revoked-token");
    expect(await judgeToken(tokens, token)).toMatchObject({ ok: false, message: expect.stringContaining("revoked") });
  });

  it("refuses an empty token", async () => {
    expect(await judgeToken(tokens, "")).toMatchObject({ ok: false });
  });
});

describe("the CSRF token", () => {
  it("is the same for one session and differs between sessions", async () => {
    const admin = await tokens.hookbot.tokenFor("/");
    expect(await csrfTokenOf(admin)).toBe(await csrfTokenOf(admin));
    expect(await csrfTokenOf(admin)).not.toBe(await csrfTokenOf(await tokens.hookbot.tokenFor("/sub/")));
    expect(await csrfTokenOf(admin)).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe("a request's origin", () => {
  const app = new Hono().post("/", (c) => c.text(String(isSameOrigin(c))));
  const ask = async (headers: Record<string, string>) =>
    (await app.request("http://console.test/", { method: "POST", headers: { host: "console.test", ...headers } }))
      .text();

  it("is this host when Origin names it", async () => {
    expect(await ask({ origin: "http://console.test" })).toBe("true");
    expect(await ask({ origin: "http://console.test:8081" })).toBe("false");
    expect(await ask({ origin: "https://evil.example" })).toBe("false");
    expect(await ask({ origin: "null" })).toBe("false");
  });

  it("falls back to Sec-Fetch-Site without an Origin", async () => {
    expect(await ask({ "sec-fetch-site": "same-origin" })).toBe("true");
    expect(await ask({ "sec-fetch-site": "same-site" })).toBe("false");
    expect(await ask({ "sec-fetch-site": "cross-site" })).toBe("false");
  });
});
