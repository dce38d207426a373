import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * The chaos run's webhook receiver, on 127.0.0.1 in this process: counts how often each webhook-id
 * arrived and answers 200. Keeps only the counts, so a long run's memory stays small.
 */
export type Recorder = { url: string; seen: Map<string, number>; stop(): Promise<void> };

export async function startRecorder(): Promise<Recorder> {
  const seen = new Map<string, number>();
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      const id = req.headers["webhook-id"];
      // Unsigned deliveries would carry no id; hookd signs by default, so "(none)" would show a setup mistake.
      const key = typeof id === "string" ? id : "(none)";
      seen.set(key, (seen.get(key) ?? 0) + 1);
      res.writeHead(200, { "content-length": "0" }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
