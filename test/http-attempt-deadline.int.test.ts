import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createHttpAttempter } from "../src/delivery/http-attempt.ts";
import { NetworkPolicy } from "../src/delivery/network-policy.ts";

/**
 * An attempt has one deadline for the whole exchange (HOOKD_TIMEOUT): a receiver that never answers,
 * or answers and then drips its body, is cut off at it and recorded as a timeout.
 */

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function receiver(handler: Parameters<typeof createServer>[1]): Promise<{ url: string; closed: Promise<void> }> {
  let closed!: () => void;
  const closedPromise = new Promise<void>((resolve) => (closed = resolve));
  const server = createServer((request, response) => {
    request.socket.once("close", closed);
    handler!(request, response);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, closed: closedPromise };
}

const outbound = (url: string) => ({
  url,
  method: "POST",
  headers: { "content-type": "text/plain" },
  body: new TextEncoder().encode("hi"),
});

describe("an attempt's deadline", () => {
  const attempter = createHttpAttempter({ timeoutMs: 400, policy: new NetworkPolicy(["127.0.0.0/8"]) });

  it("cuts off a receiver that never answers, as a timeout, and closes the connection", async () => {
    const silent = await receiver(() => {});
    const started = performance.now();
    const result = await attempter.send(outbound(silent.url));
    expect(result.errorCode).toBe("timeout");
    expect(result.error).toMatch(/^timed out/);
    expect(result.response).toBeUndefined();
    expect(performance.now() - started).toBeGreaterThanOrEqual(390);
    expect(performance.now() - started).toBeLessThan(2_000);
    await silent.closed;
  });

  it("cuts off a body that keeps dripping past the deadline, though each byte comes in time", async () => {
    const dripping = await receiver((_request, response) => {
      response.writeHead(200, { "content-type": "text/plain" });
      const timer = setInterval(() => response.write("."), 50);
      response.once("close", () => clearInterval(timer));
    });
    const started = performance.now();
    const result = await attempter.send(outbound(dripping.url));
    expect(result.errorCode).toBe("timeout");
    expect(performance.now() - started).toBeLessThan(2_000);
    await dripping.closed;
  });

  it("bounds a fetch of content (get) by the same deadline", async () => {
    const silent = await receiver(() => {});
    const started = performance.now();
    await expect(attempter.get(silent.url, 1_000)).rejects.toMatchObject({ name: "TimeoutError" });
    expect(performance.now() - started).toBeLessThan(2_000);
    await silent.closed;
  });

  it("leaves an attempt answered in time alone", async () => {
    const quick = await receiver((_request, response) => response.end("ok"));
    const result = await attempter.send(outbound(quick.url));
    expect(result.response).toMatchObject({ status: 200, body: "ok", bodyTruncated: false });
    expect(result.errorCode).toBeUndefined();
  });
});
