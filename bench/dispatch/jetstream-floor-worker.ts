import { AckPolicy, jetstream, jetstreamManager, RetentionPolicy } from "@nats-io/jetstream";
import { connect, nanos } from "@nats-io/transport-node";
import { signedPoster } from "./signed-post.ts";

/**
 * The least a worker on JetStream can do per delivery, run beside hookd and the BullMQ peer: it
 * queues JOBS jobs on a work-queue stream of the bench's nats-server (NATS_URL), then pulls them at
 * CONCURRENCY and POSTs each to TARGET signed as the peer signs (bench/dispatch/signed-post.ts),
 * acknowledging each once answered. Nothing is journaled, indexed or kept: what hookd reaches of
 * this rate is what its promises cost, and what this reaches of BullMQ's is what the queue
 * underneath costs. Prints "ready" once the jobs are queued and the consumer exists. Its stream is
 * BENCH_FLOOR_<pid>, which bench/dispatch/peer.ts also deletes should this process die first.
 * By hand: NATS_URL=nats://127.0.0.1:4222 JOBS=1000 CONCURRENCY=64 TARGET=http://127.0.0.1:PORT/x
 * node --import tsx bench/dispatch/jetstream-floor-worker.ts
 */

const jobs = Number(process.env.JOBS ?? 1_000);
const concurrency = Number(process.env.CONCURRENCY ?? 64);
const target = process.env.TARGET ?? "";
const body = "n=floor";
const stream = `BENCH_FLOOR_${process.pid}`;
const subject = `bench-floor.${process.pid}`;

const nc = await connect({ servers: process.env.NATS_URL ?? "nats://127.0.0.1:4222" });
const jsm = await jetstreamManager(nc);
const poster = signedPoster(concurrency);
let stopping: Promise<unknown> | null = null;
// Registered before the stream exists, so a stop at any point removes what this process made.
process.on("SIGTERM", async () => {
  try {
    await stopping;
    await jsm.streams.delete(stream).catch(() => false);
    await nc.close();
    await poster.close();
  } finally {
    process.exit(0);
  }
});

await jsm.streams.add({ name: stream, subjects: [`${subject}.>`], retention: RetentionPolicy.Workqueue });
const js = jetstream(nc);
const encoder = new TextEncoder();
let queued = 0;
await Promise.all(Array.from({ length: 64 }, async () => {
  while (queued < jobs) {
    const i = queued++;
    await js.publish(`${subject}.job`, encoder.encode(JSON.stringify({ id: `msg_${i}`, url: target, body })));
  }
}));
await jsm.consumers.add(stream, {
  durable_name: "worker",
  ack_policy: AckPolicy.Explicit,
  max_ack_pending: concurrency * 4,
  ack_wait: nanos(30_000),
});
const consumer = await js.consumers.get(stream, "worker");
const messages = await consumer.consume({ max_messages: concurrency });
stopping = messages.closed();
process.on("SIGTERM", () => void messages.close());
process.stdout.write("ready\n");

// At most `concurrency` deliveries at once; the next message is taken when one ends.
let running = 0;
let slotFreed: (() => void) | null = null;
for await (const message of messages) {
  while (running >= concurrency) await new Promise<void>((resolve) => (slotFreed = resolve));
  running++;
  void poster.post(message.json<{ id: string; url: string; body: string }>())
    .then((ok) => (ok ? message.ack() : message.nak(1_000)), () => message.nak(1_000))
    .catch(() => undefined)
    .finally(() => {
      running--;
      slotFreed?.();
      slotFreed = null;
    });
}
