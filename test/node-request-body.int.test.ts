import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Hono } from "hono";
import { createServer, type IncomingMessage, request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { setImmediate as nextTurn } from "node:timers/promises";
import { Agent, request } from "undici";
import { serveOnNode, takeBufferedBody } from "../src/serve-node.ts";
import { readBody } from "../src/http/read-body.ts";
import { ProblemError } from "../src/http/problem.ts";

/**
 * On Node a small body has arrived with its headers, and hookd takes it in one read instead of through a
 * stream (issue 12's ingest). A body still arriving, chunked or too large must take the stream as before,
 * and a connection must stay usable after a body taken the quick way.
 */

const LIMIT = 64 * 1024;

function echoApp() {
  const app = new Hono();
  app.post("/echo", async (c) => {
    try {
      const body = await readBody(c, LIMIT, "HOOKD_MAX_BODY");
      return c.json({
        bytes: body.length,
        own: body.byteOffset === 0 && body.buffer.byteLength === body.length,
        text: new TextDecoder().decode(body),
      });
    } catch (error) {
      if (error instanceof ProblemError) return c.json({ status: error.problem.status }, 413);
      throw error;
    }
  });
  return app;
}

describe("a request body on Node", () => {
  let server: ReturnType<typeof serveOnNode>;
  let base: string;
  const agent = new Agent({ connections: 1 });

  beforeAll(async () => {
    await new Promise<void>((resolve) => {
      server = serveOnNode(echoApp(), { port: 0, hostname: "127.0.0.1" }, () => resolve());
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await agent.close();
    await new Promise((resolve) => server.close(resolve));
  });

  const post = async (body: string | Buffer | Readable, headers: Record<string, string> = {}) => {
    const response = await request(`${base}/echo`, { method: "POST", body, headers, dispatcher: agent });
    return {
      status: response.statusCode,
      json: await response.body.json() as { bytes: number; own?: boolean; text?: string },
    };
  };

  it("reads a small body, as its own bytes, many times over one kept-alive connection", async () => {
    for (let i = 0; i < 50; i++) {
      const { status, json } = await post(`n=${i}`, { "content-type": "text/plain" });
      expect(status).toBe(200);
      expect(json).toEqual({ bytes: `n=${i}`.length, own: true, text: `n=${i}` });
    }
  });

  it("reads an empty body, a large one and a chunked one", async () => {
    expect((await post("")).json.bytes).toBe(0);
    const large = Buffer.alloc(60 * 1024, "x");
    expect((await post(large)).json).toMatchObject({ bytes: large.length, own: true });
    async function* chunks() {
      yield Buffer.from("first,");
      await nextTurn();
      yield Buffer.from("second");
    }
    expect((await post(Readable.from(chunks()))).json).toMatchObject({ bytes: 12, text: "first,second" });
  });

  it("still refuses a body over the limit, declared or chunked", async () => {
    expect((await post(Buffer.alloc(LIMIT + 1, "x"))).status).toBe(413);
    async function* tooMany() {
      for (let i = 0; i < 3; i++) yield Buffer.alloc(LIMIT / 2, "x");
    }
    expect((await post(Readable.from(tooMany()))).status).toBe(413);
  });
});

describe("takeBufferedBody", () => {
  let server: Server;
  let port: number;
  const seen: (string | null)[] = [];

  beforeAll(async () => {
    server = createServer(async (incoming: IncomingMessage, outgoing) => {
      // As under Hono: the handler asks after its first awaits, by when a body sent with the headers is buffered.
      await nextTurn();
      const taken = takeBufferedBody(incoming, Number(incoming.headers["content-length"]));
      seen.push(taken === null ? null : new TextDecoder().decode(taken));
      if (taken === null) incoming.resume();
      incoming.once("end", () => outgoing.end("ok"));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  const send = (parts: string[], declared: number) =>
    new Promise<number>((resolve, reject) => {
      const req = httpRequest({
        port,
        host: "127.0.0.1",
        method: "POST",
        path: "/",
        headers: { "content-length": declared },
      }, (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      });
      req.on("error", reject);
      req.write(parts[0]);
      // The rest comes well after the handler has looked.
      if (parts.length > 1) setTimeout(() => req.end(parts[1]), 200);
      else req.end();
    });

  it("takes a body that has all arrived, and leaves one still arriving to the stream", async () => {
    seen.length = 0;
    expect(await send(["hello"], 5)).toBe(200);
    expect(await send(["half", "-and-half"], 13)).toBe(200);
    expect(seen).toEqual(["hello", null]);
  });
});
