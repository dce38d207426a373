import { createHmac } from "node:crypto";
import { AckPolicy, jetstream, jetstreamManager, RetentionPolicy } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { Agent, request } from "undici";

/**
 * The least a worker on JetStream can do per delivery, run beside hookd and the BullMQ peer: it
 * queues JOBS jobs on a work-queue stream of the bench's nats-server (NATS_URL), then pulls them at
 * CONCURRENCY and POSTs each to TARGET signed as the peer signs, acknowledging each once answered.
 * Nothing is journaled, indexed or kept: what hookd reaches of this rate is what its promises cost,
 * and what this reaches of BullMQ's is what the queue underneath costs. Prints "ready" once the jobs
 * are queued and the consumer exists. Run by bench/dispatch/peer.ts; by hand: NATS_URL=nats://127.0.0.1:4222
 * JOBS=1000 CONCURRENCY=64 TARGET=http://127.0.0.1:PORT/x node --import tsx bench/dispatch/jetstream-floor-worker.ts
 */

const jobs = Number(process.env.JOBS ?? 1_000);
const concurrency = Number(process.env.CONCURRENCY ?? 64);
const target = process.env.TARGET ?? "";
const secret = Buffer.alloc(32, 7);
const body = "n=floor";
const stream = `BENCH_FLOOR_${process.pid}`;
const subject = `bench-floor.${process.pid}`;

const nc = await connect({ servers: process.env.NATS_URL ?? "nats://127.0.0.1:4222" });
const jsm = await jetstreamManager(nc);
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
  ack_wait: 30_000_000_000,
});
const consumer = await js.consumers.get(stream, "worker");
process.stdout.write("ready\n");

const agent = new Agent({ connections: concurrency });
type Job = { id: string; url: string; body: string };

async function deliver(job: Job): Promise<boolean> {
  const timestamp = Math.floor(Date.now() / 1000);
  const signature = createHmac("sha256", secret).update(`${job.id}.${timestamp}.${job.body}`).digest("base64");
  const response = await request(job.url, {
    method: "POST",
    body: job.body,
    headers: {
      "content-type": "text/plain",
      "webhook-id": job.id,
      "webhook-timestamp": String(timestamp),
      "webhook-signature": `v1,${signature}`,
    },
    dispatcher: agent,
  });
  await response.body.dump();
  return response.statusCode < 300;
}

// At most `concurrency` deliveries at once; the next message is taken when one ends.
let running = 0;
let slotFreed: (() => void) | null = null;
const messages = await consumer.consume({ max_messages: concurrency });
process.on("SIGTERM", async () => {
  await messages.close();
  await jsm.streams.delete(stream).catch(() => false);
  await nc.close();
  await agent.close();
  process.exit(0);
});
for await (const message of messages) {
  while (running >= concurrency) await new Promise<void>((resolve) => (slotFreed = resolve));
  running++;
  void deliver(message.json<Job>()).then(
    (ok) => (ok ? message.ack() : message.nak(1_000)),
    () => message.nak(1_000),
  ).finally(() => {
    running--;
    slotFreed?.();
    slotFreed = null;
  });
}
