import {
  AckPolicy,
  type ConsumerMessages,
  jetstream,
  type JetStreamManager,
  jetstreamManager,
  RetentionPolicy,
} from "@nats-io/jetstream";
import { connect, nanos, type NatsConnection } from "@nats-io/transport-node";
import { signedPoster } from "./signed-post.ts";
import { releaseFloor, workFloorJobs } from "./floor-work.ts";

/**
 * A plain worker on JetStream, run beside hookd and the BullMQ peer: it queues JOBS jobs on a
 * work-queue stream (STREAM) of the bench's nats-server (NATS_URL), then pulls them at CONCURRENCY
 * and POSTs each to TARGET signed as the peer signs (bench/dispatch/signed-post.ts), acknowledging
 * each once answered. Nothing is journaled, indexed or kept, so it shows what a worker a team would
 * write on this queue reaches beside BullMQ, and how far under it hookd's drain runs; it is not the
 * least any worker could cost (one acknowledgement per job, one Node process). Prints "ready" once
 * the jobs are queued and the consumer exists, and deletes STREAM on SIGTERM or SIGINT, whenever
 * it comes; bench/dispatch/peer.ts deletes it too, should this process die first.
 * By hand: NATS_URL=nats://127.0.0.1:4222 STREAM=BENCH_FLOOR_1 JOBS=1000 CONCURRENCY=64
 * TARGET=http://127.0.0.1:PORT/x node --import tsx bench/dispatch/jetstream-floor-worker.ts
 */

const jobs = Number(process.env.JOBS ?? 1_000);
const concurrency = Number(process.env.CONCURRENCY ?? 64);
const target = process.env.TARGET ?? "";
const stream = process.env.STREAM ?? `BENCH_FLOOR_${process.pid}`;
const subject = `bench-floor.${stream}`;
const body = "n=floor";

const poster = signedPoster(concurrency);
// Set by start(), so an unreachable server is reported like any other failed start.
let nc: NatsConnection | null = null;
let jsm: JetStreamManager | null = null;

// A stop may come while the stream is still being made or filled: the start notices it after each
// step and stops there, and the stop waits for that before deleting, so nothing is made after.
let stopRequested = false;
const started = start().catch((error: unknown) => {
  process.stderr.write(`the floor worker could not start: ${error}\n`);
  process.exitCode = 1;
  return null;
});
async function stop() {
  if (stopRequested) return;
  stopRequested = true;
  try {
    await releaseFloor({ messages: await started, jsm, streams: [stream], nc, poster });
  } finally {
    process.exit();
  }
}
process.on("SIGTERM", () => void stop());
process.on("SIGINT", () => void stop());

async function start(): Promise<ConsumerMessages | null> {
  const connection = await connect({ servers: process.env.NATS_URL ?? "nats://127.0.0.1:4222" });
  nc = connection;
  if (stopRequested) return null;
  const manager = await jetstreamManager(connection);
  jsm = manager;
  await manager.streams.add({ name: stream, subjects: [`${subject}.>`], retention: RetentionPolicy.Workqueue });
  const js = jetstream(connection);
  const encoder = new TextEncoder();
  let queued = 0;
  await Promise.all(Array.from({ length: 64 }, async () => {
    while (queued < jobs && !stopRequested) {
      const i = queued++;
      await js.publish(`${subject}.job`, encoder.encode(JSON.stringify({ id: `msg_${i}`, url: target, body })));
    }
  }));
  if (stopRequested) return null;
  await manager.consumers.add(stream, {
    durable_name: "worker",
    ack_policy: AckPolicy.Explicit,
    max_ack_pending: concurrency * 4,
    ack_wait: nanos(30_000),
  });
  const consumer = await js.consumers.get(stream, "worker");
  return await consumer.consume({ max_messages: concurrency });
}

const messages = await started;
if (messages && !stopRequested) {
  process.stdout.write("ready\n");
  // However the loop ends (a stop closed it, or it threw), the stream goes and the process ends.
  try {
    await workFloorJobs(messages, poster, concurrency, () => stopRequested);
  } catch (error) {
    process.stderr.write(`the floor worker stopped: ${error}\n`);
    process.exitCode = 1;
  } finally {
    await stop();
  }
} else if (!stopRequested) {
  await stop();
}
