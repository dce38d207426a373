import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** A real webhook receiver on 127.0.0.1 that records every request and answers as the test says. */

export type Received = { method: string; path: string; headers: IncomingHttpHeaders; body: Buffer; at: number };
export type Answer = { status: number; headers?: Record<string, string>; body?: string; delayMs?: number };
export type Responder = (request: Received, index: number) => Answer | Promise<Answer>;

export type Receiver = {
  url: string;
  port: number;
  requests: Received[];
  respond: Responder;
  waitFor(count: number, timeoutMs?: number): Promise<Received[]>;
  stop(): Promise<void>;
};

export async function startReceiver(respond: Responder = () => ({ status: 200, body: "ok" })): Promise<Receiver> {
  const requests: Received[] = [];
  const open = new Set<ServerResponse>();
  const receiver: Receiver = {
    url: "",
    port: 0,
    requests,
    respond,
    async waitFor(count, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      while (requests.length < count) {
        if (Date.now() > deadline) {
          throw new Error(`receiver got ${requests.length} requests, expected ${count} within ${timeoutMs}ms`);
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return requests;
    },
    async stop() {
      for (const response of open) response.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", async () => {
      const received: Received = {
        method: req.method ?? "",
        path: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks),
        at: Date.now(),
      };
      const index = requests.push(received) - 1;
      const answer = await receiver.respond(received, index);
      open.add(res);
      res.on("close", () => open.delete(res));
      if (answer.delayMs) await new Promise((resolve) => setTimeout(resolve, answer.delayMs));
      if (res.destroyed) return;
      res.writeHead(answer.status, answer.headers);
      res.end(answer.body ?? "");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  receiver.port = (server.address() as AddressInfo).port;
  receiver.url = `http://127.0.0.1:${receiver.port}`;
  return receiver;
}
