import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * The benchmark's webhook receiver, in its own process so it doesn't share a core with the load
 * generator. It records when each delivery first arrived (wall clock, ms), keyed by its webhook-id
 * when signed, else by the body's "n=<seq>". Date.now(), the clock hookd stamps its delivery ids
 * with: a time origin plus the monotonic clock drifts from it in a long run (half a second seen here
 * over a bench:dispatch run, which made its latencies negative).
 * GET /__stats answers {count, distinct, first, last} (first and latest arrival); GET /__stats?arrivals adds {arrivals: {key: ms}} (costly for
 * big runs, so only asked for once at the end); POST /__reset clears.
 */
const status = Number(process.env.RECEIVER_STATUS ?? 200);
let arrivals = new Map<string, number>();
let count = 0;
/** Wall-clock ms of the first and the latest arrival since the last reset. */
let first: number | null = null;
let last: number | null = null;

const server = createServer((req, res) => {
  if (req.method === "GET" && req.url?.startsWith("/__stats")) {
    res.writeHead(200, { "content-type": "application/json" });
    const withArrivals = req.url.includes("arrivals");
    res.end(
      JSON.stringify({
        count,
        distinct: arrivals.size,
        first,
        last,
        ...(withArrivals ? { arrivals: Object.fromEntries(arrivals) } : {}),
      }),
    );
    return;
  }
  if (req.url === "/__reset") {
    arrivals = new Map();
    count = 0;
    first = null;
    last = null;
    res.end();
    return;
  }
  let body = "";
  req.setEncoding("utf8");
  req.on("data", (chunk: string) => (body += chunk));
  req.on("end", () => {
    count++;
    last = Date.now();
    first ??= last;
    const webhookId = req.headers["webhook-id"];
    const seq = typeof webhookId === "string" ? webhookId : body.startsWith("n=") ? body.slice(2) : body;
    if (!arrivals.has(seq)) arrivals.set(seq, last);
    res.writeHead(status, { "content-length": "0" });
    res.end();
  });
});
server.keepAliveTimeout = 30_000;
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`${(server.address() as AddressInfo).port}\n`);
});
