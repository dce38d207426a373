import { Queue, Worker } from "bullmq";
import { signedPoster } from "./signed-post.ts";

/**
 * The peer bench/dispatch measures hookd against: "a BullMQ queue and a worker that POSTs", on the
 * Redis at 127.0.0.1:6379, in its own process as hookd is. It queues JOBS jobs, then a worker at
 * CONCURRENCY POSTs each to TARGET signed per job (bench/dispatch/signed-post.ts), so both sides
 * sign. The bench times the drain at the receiver, as it does hookd's. Prints "ready" once the jobs are queued and the worker runs, "done" when drained.
 * Run by bench/dispatch.ts; by hand: JOBS=1000 CONCURRENCY=64 TARGET=http://127.0.0.1:PORT/x node --import tsx bench/dispatch/bullmq-peer.ts
 */

const jobs = Number(process.env.JOBS ?? 1_000);
const concurrency = Number(process.env.CONCURRENCY ?? 64);
const target = process.env.TARGET ?? "";
const connection = { host: "127.0.0.1", port: 6379, maxRetriesPerRequest: null };
const name = `hookd-bench-peer-${process.pid}`;
const body = "n=peer";

const queue = new Queue(name, { connection });
await queue.obliterate({ force: true });
const BULK = 1_000;
for (let first = 0; first < jobs; first += BULK) {
  const count = Math.min(BULK, jobs - first);
  await queue.addBulk(
    Array.from({ length: count }, (_, i) => ({
      name: "deliver",
      data: { url: target, body },
      opts: { attempts: 10, backoff: { type: "exponential", delay: 5_000 }, removeOnComplete: true },
      jobId: `msg_${first + i}`,
    })),
  );
}

const poster = signedPoster(concurrency);
let delivered = 0;
const worker = new Worker(
  name,
  async (job) => {
    const status = await poster.post({ id: job.id!, url: job.data.url, body: job.data.body });
    if (status >= 300) throw new Error(`the receiver answered ${status}`);
    if (++delivered === jobs) process.stdout.write("done\n");
  },
  { connection, concurrency },
);
await worker.waitUntilReady();
process.stdout.write("ready\n");

process.on("SIGTERM", async () => {
  try {
    await worker.close();
    await queue.obliterate({ force: true }).catch(() => {});
    await queue.close();
    await poster.close();
  } finally {
    process.exit(0);
  }
});
