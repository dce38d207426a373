/**
 * The floor under the latency figure: the least a broker that keeps what it accepts does between a
 * POST and its webhook, in one Node process as hookd is. hookd's HTTP stack (Hono on
 * @hono/node-server) takes POST /dispatch?_url=<target>, stores it as one message on a work-queue
 * stream of the bench's nats-server (NATS_URL, stream STREAM) and answers 202 with an id once the
 * store is acknowledged (503 when it is not); the same process pulls the stream at CONCURRENCY and
 * POSTs each job signed (bench/dispatch/signed-post.ts), acknowledging it once answered. Its ids are
 * shaped as hookd's delivery ids (a ULID whose time part is the accept) and sent as webhook-id, so
 * bench/dispatch reads its accept → delivered latencies as it reads hookd's. Nothing is batched,
 * indexed or checked. With JOURNAL=on it also journals in the shape of hookd's journal, one append per
 * job on a subject of its own (the job and its outcome, on stream STREAM_JOURNAL, before the job is
 * acknowledged; hookd's appends also carry an expected last sequence, these do not): the floor under a
 * broker that keeps each delivery's history. Prints its port once
 * it listens; deletes its streams on SIGTERM or SIGINT, whenever it comes, and
 * bench/dispatch/latency.ts deletes them too, should this process die first.
 * By hand: NATS_URL=nats://127.0.0.1:4222 STREAM=BENCH_LATENCY_1 CONCURRENCY=64 JOURNAL=on
 * node --import tsx bench/dispatch/latency-floor.ts
 * @module
 */
import {
  AckPolicy,
  type ConsumerMessages,
  jetstream,
  type JetStreamClient,
  type JetStreamManager,
  jetstreamManager,
  RetentionPolicy,
} from "@nats-io/jetstream";
import { connect, nanos, type NatsConnection } from "@nats-io/transport-node";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import { DELIVERY_ID_PREFIX, ulid } from "../../src/domain/ids.ts";
import { signedPoster } from "./signed-post.ts";
import { type FloorJob, journalStreamOf, releaseFloor, workFloorJobs } from "./floor-work.ts";

const concurrency = Number(process.env.CONCURRENCY ?? 64);
const stream = process.env.STREAM ?? `BENCH_LATENCY_${process.pid}`;
const subject = `bench-latency.${stream}.job`;
const journal = process.env.JOURNAL === "on"
  ? { stream: journalStreamOf(stream), subjects: `bench-journal.${stream}` }
  : null;

const poster = signedPoster(concurrency);
// Set by start(), so a stop that comes while it runs cleans up whatever it made.
let nc: NatsConnection | null = null;
let jsm: JetStreamManager | null = null;
let server: ReturnType<typeof serve> | null = null;
let stopRequested = false;

async function stop() {
  if (stopRequested) return;
  stopRequested = true;
  try {
    const messages = await started;
    server?.close();
    const streams = journal ? [stream, journal.stream] : [stream];
    await releaseFloor({ messages, jsm, streams, nc, poster });
  } finally {
    process.exit();
  }
}
process.on("SIGTERM", () => void stop());
process.on("SIGINT", () => void stop());

const started = start().catch((error: unknown) => {
  process.stderr.write(`the latency floor could not start: ${error}\n`);
  process.exitCode = 1;
  return null;
});

async function start(): Promise<ConsumerMessages | null> {
  nc = await connect({ servers: process.env.NATS_URL ?? "nats://127.0.0.1:4222" });
  if (stopRequested) return null;
  jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: stream, subjects: [subject], retention: RetentionPolicy.Workqueue });
  if (journal) await jsm.streams.add({ name: journal.stream, subjects: [`${journal.subjects}.>`] });
  await jsm.consumers.add(stream, {
    durable_name: "worker",
    ack_policy: AckPolicy.Explicit,
    max_ack_pending: concurrency * 4,
    ack_wait: nanos(30_000),
  });
  const js = jetstream(nc);
  const messages = await (await js.consumers.get(stream, "worker")).consume({ max_messages: concurrency });
  if (stopRequested) return messages;
  const journaled = async (job: FloorJob, status: number) => {
    if (journal) await js.publish(`${journal.subjects}.${job.id}`, JSON.stringify({ job, status, at: Date.now() }));
  };
  // However the loop ends (it threw, or a stop closed it), the streams go and the process ends.
  void workFloorJobs(messages, poster, concurrency, () => stopRequested, journaled)
    .catch((error: unknown) => {
      process.stderr.write(`the latency floor's worker stopped: ${error}\n`);
      process.exitCode = 1;
    })
    .finally(() => void stop());
  listen(js);
  return messages;
}

function listen(js: JetStreamClient): void {
  const app = new Hono();
  app.post("/dispatch", async (c) => {
    const url = c.req.query("_url");
    if (!url) return c.json({ title: "_url is required" }, 400);
    const body = await c.req.text();
    const id = DELIVERY_ID_PREFIX + ulid(Date.now(), randomBytes(10));
    try {
      await js.publish(subject, JSON.stringify({ id, url, body }));
    } catch (error) {
      return c.json({ title: `not stored: ${error}` }, 503);
    }
    return c.json({ id }, 202);
  });
  server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, (info: AddressInfo) => {
    process.stdout.write(`${info.port}\n`);
  });
  server.on("error", (error) => {
    process.stderr.write(`the latency floor cannot listen: ${error}\n`);
    void stop();
  });
}

if ((await started) === null && !stopRequested) await stop();
