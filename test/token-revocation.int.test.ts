// deno-lint-ignore-file no-explicit-any -- tests read hookd's JSON answers field by field
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RevocableTokens } from "../src/domain/revocable-tokens.ts";
import { api, eventually, startTestHookd, TEST_KEY, type TestHookd, tokenFor } from "./support/hookd.ts";
import { hookdSuite } from "./support/suite.ts";
import { openSse, openWs } from "./support/stream-clients.ts";
import { END_EVENT } from "../src/domain/stream-frames.ts";

/**
 * Revocable tokens (issue 10, item 5): they grant like Hookbot's, expire, and a revocation made on one
 * instance is refused by another on the same NATS within a bounded wait; Hookbot's tokens keep working.
 */

const suite = hookdSuite({ hookd: "none", receiver: false });
const revocable = new RevocableTokens(TEST_KEY);
let a: TestHookd;
let b: TestHookd;

beforeAll(async () => {
  a = await startTestHookd(suite.nats.url);
  b = await startTestHookd(suite.nats.url);
});

afterAll(async () => {
  await a?.stop();
  await b?.stop();
});

const getDeliveries = (base: string, token: string) =>
  fetch(`${base}/api/v1/deliveries?limit=1`, { headers: { authorization: `Bearer ${token}` } });

describe("revocable tokens", () => {
  it("grant their path and below, on every instance, beside Hookbot's", async () => {
    const token = await revocable.issue("/api/v1/", Date.now() + 60_000);
    for (const base of [a.url, b.url]) {
      expect((await getDeliveries(base, token)).status).toBe(200);
      expect((await getDeliveries(base, await tokenFor("/api/v1/"))).status).toBe(200);
    }
    const narrow = await revocable.issue("/pub/", null);
    expect((await getDeliveries(a.url, narrow)).status).toBe(401);
  });

  it("are refused with 401 once expired, saying so and not which path they grant", async () => {
    const token = await revocable.issue("/api/v1/secret-path/", Date.now() - 1000);
    const response = await getDeliveries(a.url, token);
    expect(response.status).toBe(401);
    const problem: any = await response.json();
    expect(problem.type).toBe("urn:hookd:problem:token-expired");
    expect(JSON.stringify(problem)).not.toContain("secret-path");
  });

  it("revoked on instance A, are refused by instance B within a second or two", async () => {
    const token = await revocable.issue("/api/v1/", null);
    expect((await getDeliveries(b.url, token)).status).toBe(200);
    const revoked = await api(a.url, "/api/v1/tokens/revoke", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ token }),
    });
    expect(revoked.status).toBe(200);
    const body: any = await revoked.json();
    expect(body).toMatchObject({ id: token.split(".")[1], expires_at: null });
    expect((await getDeliveries(a.url, token)).status).toBe(401);
    const started = Date.now();
    const problem: any = await eventually(
      async () => {
        const response = await getDeliveries(b.url, token);
        return response.status === 401 ? response.json() : false;
      },
      5_000,
      "instance B to refuse the revoked token",
    );
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(problem.type).toBe("urn:hookd:problem:token-revoked");
    // A third instance, started after the revocation, reads it at start.
    const c = await startTestHookd(suite.nats.url);
    try {
      expect((await getDeliveries(c.url, token)).status).toBe(401);
    } finally {
      await c.stop();
    }
    // Hookbot's tokens are untouched.
    expect((await getDeliveries(b.url, await tokenFor("/api/v1/"))).status).toBe(200);
  });

  it("refuses to revoke a Hookbot token or a stranger, and needs a token for the route", async () => {
    const post = (token: string, auth?: string) =>
      api(a.url, "/api/v1/tokens/revoke", {
        method: "POST",
        headers: { "content-type": "application/json", ...(auth ? { authorization: `Bearer ${auth}` } : {}) },
        body: JSON.stringify({ token }),
      });
    expect((await post(await tokenFor("/pub/"))).status).toBe(422);
    expect((await post(await new RevocableTokens("other-key").issue("/", null))).status).toBe(422);
    expect((await post("no good!")).status).toBe(400);
    expect((await post("someTokenId1", await tokenFor("/pub/"))).status).toBe(401);
  });

  it("end the streams opened with them when revoked on another instance, or when they expire", async () => {
    const revokedLater = await revocable.issue("/sub/cut/", null);
    const sse = openSse(`${b.url}/sse/cut/off`, revokedLater, { names: [END_EVENT] });
    await sse.opened;
    const ws = await openWs(`${b.url}/sub/cut/off`, { authorization: `Bearer ${revokedLater}` });
    const expiring = await revocable.issue("/sub/cut/", Date.now() + 2_000);
    const expiringSse = openSse(`${a.url}/sse/cut/soon`, expiring, { names: [END_EVENT] });
    await expiringSse.opened;
    try {
      await api(a.url, "/api/v1/tokens/revoke", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ token: revokedLater }),
      });
      const [end] = await sse.waitFor(1, 5_000);
      expect(end!.type).toBe(END_EVENT);
      expect(JSON.parse(end!.data)).toMatchObject({ reason: "token-revoked" });
      expect(await ws.closed).toMatchObject({ code: 4001, reason: expect.stringMatching(/^token-revoked/) });
      const [expired] = await expiringSse.waitFor(1, 6_000);
      expect(JSON.parse(expired!.data)).toMatchObject({ reason: "token-expired" });
    } finally {
      sse.close();
      ws.close();
      expiringSse.close();
    }
  });
});
