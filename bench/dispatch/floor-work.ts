import type { ConsumerMessages } from "@nats-io/jetstream";
import type { SignedPoster } from "./signed-post.ts";

/**
 * The floor's worker loop (bench/dispatch/jetstream-floor-worker.ts, bench/dispatch/latency-floor.ts):
 * each message is a job `{id, url, body}`, POSTed signed, acknowledged once answered (a failure is
 * handed back in a second). At most `concurrency` at once: the next message is taken when one ends.
 */
export async function workFloorJobs(
  messages: ConsumerMessages,
  poster: SignedPoster,
  concurrency: number,
  stopping: () => boolean,
): Promise<void> {
  let running = 0;
  let slotFreed: (() => void) | null = null;
  for await (const message of messages) {
    while (running >= concurrency) await new Promise<void>((resolve) => (slotFreed = resolve));
    // Checked once a slot is free: messages already pulled when a stop comes go back unsent, not out as POSTs.
    if (stopping()) break;
    running++;
    void poster.post(message.json<{ id: string; url: string; body: string }>())
      .then((status) => (status < 300 ? message.ack() : message.nak(1_000)), () => message.nak(1_000))
      .catch(() => undefined)
      .finally(() => {
        running--;
        slotFreed?.();
        slotFreed = null;
      });
  }
}
