import { type ConsumerMessages, type JetStreamManager, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { sleep } from "../support/figures.ts";
import type { SignedPoster } from "./signed-post.ts";

export type FloorJob = { id: string; url: string; body: string };

/** The stream a journaling floor (bench/dispatch/latency-floor.ts, JOURNAL=on) keeps its journal in, beside its work stream. */
export const journalStreamOf = (stream: string) => `${stream}_JOURNAL`;

/**
 * The floor's worker loop (bench/dispatch/jetstream-floor-worker.ts, bench/dispatch/latency-floor.ts):
 * each message is a job `{id, url, body}`, POSTed signed, acknowledged once answered (a failure is
 * handed back in a second), after `answered` (a journal append, say) has settled; one that fails is
 * written to stderr and the job is still acknowledged, so a delivered job is not sent twice. At most
 * `concurrency` at once: the next message is taken when one ends.
 */
export async function workFloorJobs(
  messages: ConsumerMessages,
  poster: SignedPoster,
  concurrency: number,
  stopping: () => boolean,
  answered: (job: FloorJob, status: number) => Promise<void> = async () => {},
): Promise<void> {
  let running = 0;
  let slotFreed: (() => void) | null = null;
  for await (const message of messages) {
    while (running >= concurrency) await new Promise<void>((resolve) => (slotFreed = resolve));
    // Checked once a slot is free: messages already pulled when a stop comes go back unsent, not out as POSTs.
    if (stopping()) break;
    running++;
    const job = message.json<FloorJob>();
    void poster.post(job)
      .then(async (status) => {
        // Once the receiver has it, the job is done: a failed `answered` is told, not a reason to send it again.
        await answered(job, status).catch((error: unknown) => {
          process.stderr.write(`after job ${job.id}: ${error}\n`);
        });
        if (status < 300) message.ack();
        else message.nak(1_000);
      })
      .catch(() => message.nak(1_000))
      .catch(() => undefined)
      .finally(() => {
        running--;
        slotFreed?.();
        slotFreed = null;
      });
  }
}

/**
 * What a floor process made, let go of as it stops: its pull closed (bounded: only a running loop
 * settles it), its streams deleted, its connections closed.
 */
export async function releaseFloor(made: {
  messages: ConsumerMessages | null;
  jsm: JetStreamManager | null;
  streams: string[];
  nc: NatsConnection | null;
  poster: SignedPoster;
}): Promise<void> {
  if (made.messages) await Promise.race([made.messages.close(), sleep(2_000)]);
  for (const stream of made.streams) await made.jsm?.streams.delete(stream).catch(() => false);
  await made.nc?.close();
  await made.poster.close();
}

/**
 * From the bench's side, once a floor process has stopped: deletes the streams it made, which it
 * deletes itself unless it died first (a stream it never made is no error).
 */
export async function deleteFloorStreams(natsUrl: string, streams: string[]): Promise<void> {
  const nc = await connect({ servers: natsUrl });
  try {
    const jsm = await jetstreamManager(nc);
    for (const stream of streams) await jsm.streams.delete(stream).catch(() => false);
  } finally {
    await nc.close();
  }
}
