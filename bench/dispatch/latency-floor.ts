import { AckPolicy, jetstream, jetstreamManager, RetentionPolicy } from "@nats-io/jetstream";
import { connect, nanos } from "@nats-io/transport-node";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import { DELIVERY_ID_PREFIX, ulid } from "../../src/domain/ids.ts";
import { sleep } from "../support/figures.ts";
import { signedPoster } from "./signed-post.ts";
import { workFloorJobs } from "./floor-work.ts";

/**
 * The floor under the latency figure: the least a broker that keeps what it accepts does between a
 * POST and its webhook, in one Node process as hookd is. hookd's HTTP stack (Hono on
 * @hono/node-server) takes POST /dispatch?_url=<target>, stores it as one message on a work-queue
 * stream of the bench's nats-server (NATS_URL, stream STREAM) and answers 202 with an id once the
 * store is acknowledged; the same process pulls the stream at CONCURRENCY and POSTs each job signed
 * (bench/dispatch/signed-post.ts), acknowledging it once answered. Its ids are shaped as hookd's
 * delivery ids (a ULID whose time part is the accept) and sent as webhook-id, so bench/dispatch reads
 * its accept → delivered latencies as it reads hookd's. Nothing is batched, journaled, indexed or
 * checked. Prints its port once it listens; deletes STREAM on SIGTERM or SIGINT.
 * By hand: NATS_URL=nats://127.0.0.1:4222 STREAM=BENCH_LATENCY_1 CONCURRENCY=64
 * node --import tsx bench/dispatch/latency-floor.ts
 */

const concurrency = Number(process.env.CONCURRENCY ?? 64);
const stream = process.env.STREAM ?? `BENCH_LATENCY_${process.pid}`;
const subject = `bench-latency.${stream}.job`;

const nc = await connect({ servers: process.env.NATS_URL ?? "nats://127.0.0.1:4222" });
const jsm = await jetstreamManager(nc);
await jsm.streams.add({ name: stream, subjects: [subject], retention: RetentionPolicy.Workqueue });
await jsm.consumers.add(stream, {
  durable_name: "worker",
  ack_policy: AckPolicy.Explicit,
  max_ack_pending: concurrency * 4,
  ack_wait: nanos(30_000),
});
const js = jetstream(nc);
const messages = await (await js.consumers.get(stream, "worker")).consume({ max_messages: concurrency });
const poster = signedPoster(concurrency);
let stopping = false;
const working = workFloorJobs(messages, poster, concurrency, () => stopping);

const app = new Hono();
app.post("/dispatch", async (c) => {
  const url = c.req.query("_url");
  if (!url) return c.json({ title: "_url is required" }, 400);
  const body = await c.req.text();
  const id = DELIVERY_ID_PREFIX + ulid(Date.now(), randomBytes(10));
  await js.publish(subject, JSON.stringify({ id, url, body }));
  return c.json({ id }, 202);
});
const server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, (info: AddressInfo) => {
  process.stdout.write(`${info.port}\n`);
});

async function stop() {
  if (stopping) return;
  stopping = true;
  try {
    server.close();
    await Promise.race([messages.close(), sleep(2_000)]);
    await Promise.race([working, sleep(2_000)]);
    await jsm.streams.delete(stream).catch(() => false);
    await nc.close();
    await poster.close();
  } finally {
    process.exit();
  }
}
process.on("SIGTERM", () => void stop());
process.on("SIGINT", () => void stop());
