import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { Agent } from "undici";
import { cappedExchange } from "../src/delivery/capped-exchange.ts";
import { createHttpAttempter, RESPONSE_BODY_LIMIT } from "../src/delivery/http-attempt.ts";
import { NetworkPolicy } from "../src/delivery/network-policy.ts";

/**
 * What an attempt records of a receiver's answer (src/delivery/capped-exchange.ts drives undici's
 * dispatcher itself): the status, every header, the body up to its limit, and what went wrong when
 * nothing came back. Receivers are real servers on 127.0.0.1.
 */

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

type Handler = (request: IncomingMessage, response: ServerResponse) => void;

async function receiver(
  handler: Handler,
): Promise<{
  url: string;
  requests: { body: string; headers: IncomingMessage["headers"] }[];
  /** Connections open now. */
  open: () => number;
  /** Connections ever opened. */
  opened: () => number;
}> {
  const requests: { body: string; headers: IncomingMessage["headers"] }[] = [];
  let opens = 0;
  let closes = 0;
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      requests.push({ body: Buffer.concat(chunks).toString(), headers: request.headers });
      handler(request, response);
    });
  });
  server.on("connection", (socket) => {
    opens++;
    socket.once("close", () => closes++);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook?x=1`,
    requests,
    open: () => opens - closes,
    opened: () => opens,
  };
}

const post = (url: string, body = "hello") => ({
  url,
  method: "POST",
  headers: { "content-type": "text/plain", "webhook-id": "msg_1" },
  body: new TextEncoder().encode(body),
});

const policy = new NetworkPolicy(["127.0.0.0/8"]);

describe("an attempt's exchange", () => {
  const attempter = createHttpAttempter({ timeoutMs: 2_000, policy });

  it("sends the method, path with its query, headers and body, and records status, headers and body", async () => {
    let seenUrl = "";
    const target = await receiver((request, response) => {
      seenUrl = `${request.method} ${request.url}`;
      response.setHeader("set-cookie", ["a=1", "b=2"]);
      response.writeHead(201, { "x-receipt": "r-7", "content-type": "text/plain" });
      response.end("stored");
    });
    const result = await attempter.send(post(target.url, "n=1"));
    expect(seenUrl).toBe("POST /hook?x=1");
    expect(target.requests[0]).toMatchObject({
      body: "n=1",
      headers: { "webhook-id": "msg_1", "content-type": "text/plain" },
    });
    expect(result.errorCode).toBeUndefined();
    expect(result.response).toMatchObject({ status: 201, body: "stored", bodyTruncated: false });
    // A header sent twice is kept, joined as one line.
    expect(result.response!.headers).toMatchObject({ "x-receipt": "r-7", "set-cookie": "a=1, b=2" });
  });

  it("keeps the first RESPONSE_BODY_LIMIT bytes of a larger body, marks it truncated, and closes that connection", async () => {
    const large = "x".repeat(RESPONSE_BODY_LIMIT * 3);
    const target = await receiver((_request, response) => response.end(large));
    const result = await attempter.send(post(target.url));
    expect(result.response?.status).toBe(200);
    expect(result.response?.bodyTruncated).toBe(true);
    expect(result.response?.body.length).toBe(RESPONSE_BODY_LIMIT);
    // Kept alive, a connection would stay open for the next attempt: this one is closed.
    await expect.poll(() => target.open()).toBe(0);
    // The next attempt opens a new connection and is answered whole.
    const small = await receiver((_request, response) => response.end("ok"));
    expect((await attempter.send(post(small.url))).response).toMatchObject({ body: "ok", bodyTruncated: false });
  });

  it("keeps a body of exactly the limit whole", async () => {
    const target = await receiver((_request, response) => response.end("y".repeat(RESPONSE_BODY_LIMIT)));
    const result = await attempter.send(post(target.url));
    expect(result.response).toMatchObject({ bodyTruncated: false });
    expect(result.response?.body.length).toBe(RESPONSE_BODY_LIMIT);
  });

  it("records a refused connection as a network error, with no response", async () => {
    const gone = await receiver(() => {});
    const server = servers.pop()!;
    await new Promise((resolve) => server.close(resolve));
    const result = await attempter.send(post(gone.url));
    expect(result.response).toBeUndefined();
    expect(result.errorCode).toBe("network");
    expect(result.error).toMatch(/ECONNREFUSED/);
  });

  it("records a receiver that hangs up mid-answer as a network error", async () => {
    const target = await receiver((request, response) => {
      response.writeHead(200, { "content-length": "100" });
      response.write("partial");
      request.socket.destroy();
    });
    const result = await attempter.send(post(target.url));
    expect(result.response).toBeUndefined();
    expect(result.errorCode).toBe("network");
  });

  it("times out an exchange still waiting for a connection at its deadline, not when the connection frees up", async () => {
    const agent = new Agent({ connections: 1 });
    const target = await receiver((request, response) => {
      if (request.headers["webhook-id"] === "slow") setTimeout(() => response.end("late"), 1_500);
      else response.end("ok");
    });
    const url = new URL(target.url);
    const slow = cappedExchange(agent, { url, method: "POST", headers: { "webhook-id": "slow" } }, 100, 5_000);
    const started = performance.now();
    const queued = cappedExchange(agent, { url, method: "POST", headers: { "webhook-id": "quick" } }, 100, 300);
    await expect(queued).rejects.toMatchObject({ name: "TimeoutError" });
    expect(performance.now() - started).toBeLessThan(1_200);
    // The slow one is answered; the one that timed out is never sent once the connection frees up.
    expect(new TextDecoder().decode((await slow).body)).toBe("late");
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(target.requests.map((one) => one.headers["webhook-id"])).toEqual(["slow"]);
    await agent.close();
  });

  it("records HEAD, 204 and 304 answers, which carry no body", async () => {
    const target = await receiver((request, response) => {
      const status = Number(request.headers["x-answer"]);
      response.writeHead(status, status === 200 ? { "content-length": "100" } : {});
      response.end();
    });
    const cases = [["HEAD", "200"], ["POST", "204"], ["POST", "304"]] as const;
    for (const [method, status] of cases) {
      const request = { ...post(target.url), method, headers: { "x-answer": status } };
      const result = await attempter.send(request);
      expect(result.errorCode).toBeUndefined();
      expect(result.response).toMatchObject({ status: Number(status), body: "", bodyTruncated: false });
    }
    expect(target.requests).toHaveLength(3);
  });

  it("keeps the connection of a 204 or a 304 for the next exchange", async () => {
    const target = await receiver((request, response) => {
      response.writeHead(Number(request.headers["x-answer"]));
      response.end();
    });
    // One connection at most: were an answer's connection closed, the next exchange would open another.
    const agent = new Agent({ connections: 1 });
    for (const status of ["204", "304", "204"]) {
      const exchange = { url: new URL(target.url), method: "POST", headers: { "x-answer": status } };
      expect((await cappedExchange(agent, exchange, 100, 2_000)).status).toBe(Number(status));
    }
    expect(target.opened()).toBe(1);
    await agent.close();
  });

  it("records the final answer after a 103 Early Hints", async () => {
    const target = await receiver((_request, response) => {
      response.writeEarlyHints({ link: "</style.css>; rel=preload; as=style" });
      response.writeHead(202, { "x-final": "yes" });
      response.end("accepted");
    });
    const result = await attempter.send(post(target.url));
    expect(result.response).toMatchObject({ status: 202, body: "accepted", headers: { "x-final": "yes" } });
  });

  it("cuts the body off when a chunk arrives with no room left at all", async () => {
    const target = await receiver((_request, response) => {
      response.write("0123456789");
      setTimeout(() => response.end("!"), 100);
    });
    const agent = new Agent();
    const exchange = { url: new URL(target.url), method: "POST", headers: {} };
    const answer = await cappedExchange(agent, exchange, 10, 2_000);
    expect(answer.truncated).toBe(true);
    expect(new TextDecoder().decode(answer.body)).toBe("0123456789");
    await expect.poll(() => target.open()).toBe(0);
    await agent.close();
  });

  it("times out an answer whose body stops coming, and closes its connection", async () => {
    const target = await receiver((_request, response) => {
      response.writeHead(200, { "content-length": "100" });
      response.write("partial");
    });
    const agent = new Agent();
    const exchange = { url: new URL(target.url), method: "POST", headers: {} };
    const started = performance.now();
    await expect(cappedExchange(agent, exchange, 1_000, 300)).rejects.toMatchObject({ name: "TimeoutError" });
    expect(performance.now() - started).toBeLessThan(1_500);
    await expect.poll(() => target.open()).toBe(0);
    await agent.close();
  });

  it("refuses, without sending anything, a header with a line break, a CONNECT, and a URL that is not http(s)", async () => {
    const target = await receiver((_request, response) => response.end("ok"));
    const refused = [
      [{ ...post(target.url), headers: { "x-note": "a\r\nx-injected: 1" } }, /x-note/],
      [{ ...post(target.url), method: "CONNECT" }, /CONNECT/],
      [{ ...post(target.url), url: target.url.replace("http:", "ftp:") }, /ftp: is not a scheme/],
      [{ ...post(target.url), url: "not a url" }, /is not a URL/],
    ] as const;
    for (const [request, reason] of refused) {
      const result = await attempter.send(request);
      expect(result.response).toBeUndefined();
      expect(result.errorCode).toBe("invalid-target");
      expect(result.error).toMatch(reason);
    }
    // Not one of them so much as opened a connection, given the time a connect takes to be seen here.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(target.opened()).toBe(0);
    expect((await attempter.send(post(target.url))).response?.body).toBe("ok");
    expect(target.opened()).toBe(1);
    expect(target.requests).toHaveLength(1);
  });

  it("fetches content whole with get, and refuses content over its size", async () => {
    const target = await receiver((_request, response) => response.end("0123456789"));
    const whole = await attempter.get(target.url, 10);
    expect(new TextDecoder().decode(whole.body)).toBe("0123456789");
    await expect(attempter.get(target.url, 9)).rejects.toThrow(/larger than 9 bytes/);
  });
});
