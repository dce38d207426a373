import { request as httpRequest } from "node:http";
import { connect } from "node:net";
import { describe, expect, it } from "vitest";
import { api, eventually } from "./support/hookd.ts";
import type { Received } from "./support/receiver.ts";
import { hookdSuite } from "./support/suite.ts";

/**
 * POST /verify, PayPal's model: a receiver posts back the body it got with its webhook-id and hookd
 * answers VERIFIED or INVALID. Clients speak from distinct loopback addresses (127.0.0.x binds on
 * Linux), since the rate limit is per address.
 */

const MAX_BODY = 64 * 1024;
const suite = hookdSuite({
  env: { HOOKD_MAX_BODY: String(MAX_BODY), HOOKD_VERIFY_RATE: "10/1h" },
  receiver: false,
});

type Verdict = { status: number; type: string; body: string; retryAfter: string | undefined };

/** POST /verify from `from` (a loopback address), with no token. */
function verify(
  body: Buffer | string,
  options: { id?: string; idHeader?: string; query?: string; from: string; json?: boolean },
): Promise<Verdict> {
  const { hostname, port } = new URL(suite.hookd.url);
  const headers: Record<string, string> = {};
  if (options.id !== undefined) headers[options.idHeader ?? "webhook-id"] = options.id;
  if (options.json) headers.accept = "application/json";
  return new Promise((resolve, reject) => {
    const req = httpRequest({
      host: hostname,
      port,
      method: "POST",
      path: `/verify${options.query ?? ""}`,
      headers,
      localAddress: options.from,
      agent: false,
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () =>
        resolve({
          status: res.statusCode!,
          type: String(res.headers["content-type"]),
          body: Buffer.concat(chunks).toString(),
          retryAfter: res.headers["retry-after"] as string | undefined,
        }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** A receiver that verifies each request from its own handler, before answering, and keeps the verdicts. */
async function verifyingReceiver(from: string, idHeader = "webhook-id") {
  const verdicts: { request: Received; text: Verdict; json: Verdict }[] = [];
  const receiver = await suite.startReceiver(async (request) => {
    const id = String(request.headers[idHeader]);
    const text = await verify(request.body, { id, idHeader, from });
    const json = await verify(request.body, { id, idHeader, from, json: true });
    verdicts.push({ request, text, json });
    return { status: 200 };
  });
  return { receiver, verdicts };
}

async function dispatchTo(url: string, body: string): Promise<string> {
  const response = await api(suite.hookd.url, `/dispatch?_url=${encodeURIComponent(url)}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
  });
  expect(response.status).toBe(202);
  return (await response.json()).id;
}

describe("POST /verify", () => {
  it("a receiver that verifies what it got, from its handler, hears VERIFIED (text, and JSON on Accept)", async () => {
    const { receiver, verdicts } = await verifyingReceiver("127.0.0.2");
    const id = await dispatchTo(`${receiver.url}/hook`, '{"event":"user.created","id":42}');
    await eventually(async () => verdicts.length > 0, 20_000, "the receiver's verdict");
    const [{ request, text, json }] = verdicts as [typeof verdicts[0]];
    expect(request.headers["webhook-id"]).toBe(id);
    expect(text).toMatchObject({ status: 200, body: "VERIFIED" });
    expect(text.type).toMatch(/^text\/plain/);
    expect(json.type).toMatch(/^application\/json/);
    expect(JSON.parse(json.body)).toEqual({ verified: true });
  });

  it("verifies fan-out deliveries, whose bodies live in the topic log, while their first attempts are on the wire", async () => {
    const { receiver, verdicts } = await verifyingReceiver("127.0.0.3");
    // Each first attempt is sent before anything about it is journaled (record 31): /verify must ask for it.
    for (const path of ["orders", "ledger"]) {
      const created = await api(suite.hookd.url, "/api/v1/subscriptions", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ topic: "verify/orders", url: `${receiver.url}/${path}` }),
      });
      expect(created.status).toBe(201);
    }
    const published = await api(suite.hookd.url, "/pub/verify/orders", {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: "order 17, fan-out",
    });
    expect(published.status).toBe(202);
    await eventually(async () => verdicts.length > 1, 20_000, "the receiver's two verdicts");
    expect(verdicts.map((verdict) => verdict.request.path).sort()).toEqual(["/ledger", "/orders"]);
    for (const verdict of verdicts) {
      expect(verdict.request.body.toString()).toBe("order 17, fan-out");
      expect(verdict.text.body).toBe("VERIFIED");
      expect(JSON.parse(verdict.json.body)).toEqual({ verified: true });
    }
  });

  it("verifies an unsigned delivery by the Hookd-Delivery-Id every delivery carries", async () => {
    const { receiver, verdicts } = await verifyingReceiver("127.0.0.9", "hookd-delivery-id");
    const created = await api(suite.hookd.url, "/api/v1/subscriptions", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ topic: "verify/plain", url: `${receiver.url}/plain`, dialect: "plain" }),
    });
    expect(created.status).toBe(201);
    await api(suite.hookd.url, "/pub/verify/plain", { method: "POST", body: "plain order" });
    await eventually(async () => verdicts.length > 0, 20_000, "the receiver's verdict");
    const [{ request, text, json }] = verdicts as [typeof verdicts[0]];
    expect(request.headers["webhook-id"]).toBeUndefined();
    expect(request.headers["hookd-delivery-id"]).toMatch(/^dlv_/);
    expect(text.body).toBe("VERIFIED");
    expect(JSON.parse(json.body)).toEqual({ verified: true });
    const forged = await verify("plain order!", {
      id: String(request.headers["hookd-delivery-id"]),
      idHeader: "hookd-delivery-id",
      from: "127.0.0.9",
    });
    expect(forged.body).toBe("INVALID");
  });

  it("says INVALID to a forged body, an unknown id and a malformed id, alike", async () => {
    const receiver = await suite.startReceiver();
    const id = await dispatchTo(`${receiver.url}/x`, '{"amount":100}');
    await receiver.waitFor(1);
    const from = "127.0.0.4";
    expect((await verify('{"amount":100}', { id, from })).body).toBe("VERIFIED");
    expect((await verify('{"amount":100}', { query: `?id=${id}`, from })).body).toBe("VERIFIED");
    const forged = await verify('{"amount":1000}', { id, from });
    expect(forged).toMatchObject({ status: 200, body: "INVALID" });
    expect(JSON.parse((await verify('{"amount":100} ', { id, from, json: true })).body)).toEqual({ verified: false });
    const unknown = await verify('{"amount":100}', { id: "dlv_01ARZ3NDEKTSV4RRFFQ69G5FAV", from });
    expect(unknown).toMatchObject({ status: 200, body: "INVALID" });
    expect((await verify('{"amount":100}', { id: "not-an-id", from })).body).toBe("INVALID");
  });

  it("answers a request with no id, or two ids, with a 400 problem", async () => {
    const none = await verify("body", { from: "127.0.0.5" });
    expect(none.status).toBe(400);
    expect(none.type).toBe("application/problem+json");
    expect(JSON.parse(none.body)).toMatchObject({ field: "Webhook-Id", detail: expect.stringMatching(/Webhook-Id/) });
    const two = await verify("body", { id: "dlv_a", query: "?id=dlv_b", from: "127.0.0.5" });
    expect(two.status).toBe(400);
  });

  it("says INVALID to a body over HOOKD_MAX_BODY without reading it: declared, or streamed", async () => {
    // The declared length is never sent: hookd answers from the headers alone.
    const declared = await rawExchange(
      `POST /verify HTTP/1.1\r\nhost: x\r\nwebhook-id: dlv_01ARZ3NDEKTSV4RRFFQ69G5FAV\r\n` +
        `content-length: ${100 * 1024 * 1024}\r\n\r\n`,
    );
    expect(declared).toMatch(/^HTTP\/1\.1 200 /);
    expect(declared).toMatch(/\r\n\r\nINVALID$/);
    // Chunked, the first chunks already over the limit and no end in sight.
    const chunk = "x".repeat(16 * 1024);
    const chunks = Array.from({ length: 6 }, () => `${chunk.length.toString(16)}\r\n${chunk}\r\n`).join("");
    const streamed = await rawExchange(
      `POST /verify HTTP/1.1\r\nhost: x\r\nwebhook-id: dlv_01ARZ3NDEKTSV4RRFFQ69G5FAV\r\n` +
        `transfer-encoding: chunked\r\n\r\n${chunks}`,
    );
    expect(streamed).toMatch(/^HTTP\/1\.1 200 /);
    expect(streamed).toMatch(/\r\n\r\nINVALID$/);
  });

  it("limits each address: a flood from one gets 429 with Retry-After while another still verifies", async () => {
    const receiver = await suite.startReceiver();
    const id = await dispatchTo(`${receiver.url}/flood`, '"real"');
    await receiver.waitFor(1);
    const flood = await Promise.all(
      Array.from({ length: 25 }, () => verify('"forged"', { id, from: "127.0.0.6" })),
    );
    const refused = flood.filter((answer) => answer.status === 429);
    // 10 an hour: the rest is refused, however slowly the flood arrives.
    expect(flood.filter((answer) => answer.status === 200)).toHaveLength(10);
    expect(refused).toHaveLength(15);
    expect(Number(refused[0]!.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(refused[0]!.type).toBe("application/problem+json");
    expect(JSON.parse(refused[0]!.body).detail).toMatch(/HOOKD_VERIFY_RATE/);
    expect((await verify('"real"', { id, from: "127.0.0.7" })).body).toBe("VERIFIED");
    expect((await verify('"real"', { id, from: "127.0.0.6" })).status).toBe(429);
  });
});

/** Sends raw HTTP/1.1 from 127.0.0.8 and reads until hookd's answer is complete (or the socket ends). */
function rawExchange(text: string): Promise<string> {
  const { hostname, port } = new URL(suite.hookd.url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port), localAddress: "127.0.0.8" });
    let read = "";
    const timer = setTimeout(() => finish(), 15_000);
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(read);
    };
    socket.on("error", (error) => (read ? finish() : reject(error)));
    socket.on("data", (data) => {
      read += data.toString("latin1");
      const [head = "", body = ""] = read.split("\r\n\r\n", 2);
      const length = /content-length: (\d+)/i.exec(head);
      if (length && Buffer.byteLength(body) >= Number(length[1])) finish();
    });
    socket.on("end", finish);
    socket.on("connect", () => socket.write(text));
  });
}
