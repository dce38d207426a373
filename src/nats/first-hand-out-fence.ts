import type { JetStreamManager } from "@nats-io/jetstream";
import type { MsgHdrs } from "@nats-io/nats-core";
import type { JetStreamLayout } from "./layout.ts";

/**
 * The first-hand-out fence lets a worker skip reading a fresh delivery's journal before its first
 * attempt, without a cancel ever being missed.
 *
 * A delivery's created event reaches the work stream by the server's sourcing, so its work message
 * knows where the create sits in the journal (the `Nats-Stream-Source` header names the journal
 * sequence). Handed out for the first time, that message means nobody has worked on the delivery:
 * its transitions subject is empty, unless something wrote there without a hand-out. Two things can:
 * a command appending at sequence 0 (a cancel while queued), and a work stream or workers consumer
 * made anew (every create is sourced, or handed out, again as if new). Each of them first publishes to
 * the fence subject, in the journal stream. So when the fence's last sequence is below the create's,
 * nothing wrote to the delivery's journal before that create's first hand-out could be known: the
 * worker starts from an empty journal and its quick first attempt goes out without a read. Otherwise
 * it reads the journal's head, as for every other hand-out. The append that records the attempt still
 * expects sequence 0, so a writer racing it (a cancel landing while the request is out) is seen, and
 * the attempt is recorded after it (decision record 10a).
 *
 * A fence is one direct get, shared: every caller waiting at once is answered by one read issued
 * after it asked, whatever the number of deliveries handed out meanwhile.
 */

/** The header JetStream puts on a sourced message: `<stream>[:<hash>] <sequence in that stream> …`. */
const SOURCE_HEADER = "Nats-Stream-Source";

/** The journal sequence of a create sourced into the work stream; null when the header does not say it. */
export function sourcedSequenceOf(headers: MsgHdrs | undefined, journalStream: string): number | null {
  const value = headers?.get(SOURCE_HEADER);
  if (!value) return null;
  const [stream, seq] = value.trim().split(/\s+/);
  if (!stream || stream.split(":")[0] !== journalStream) return null;
  const parsed = Number(seq);
  return Number.isSafeInteger(parsed) && parsed > 0 ? parsed : null;
}

/** Why the fence was raised: kept in its message for whoever reads the journal. */
export type FenceReason = "cancel-before-attempt" | "work-queue-made";

/** The fence message's body. */
export function fenceMessage(reason: FenceReason, id?: string): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ reason, ...(id ? { id } : {}) }));
}

/** Raises the fence above every create in the journal so far (at start, before the work queue is made). */
export async function raiseFirstHandOutFence(
  jsm: JetStreamManager,
  layout: JetStreamLayout,
  reason: FenceReason,
): Promise<void> {
  await jsm.jetstream().publish(layout.subjects.firstHandOutFence, fenceMessage(reason), { timeout: 5_000 });
}

/**
 * Coalesces reads of the fence. Each call is answered by a read that started after the call did: a
 * read already under way may have left before a fence the caller must see, so callers arriving
 * meanwhile share the next read, which starts when that one ends.
 */
export class FenceReader {
  #inFlight: Promise<number> | null = null;
  #queued: Promise<number> | null = null;

  constructor(private readonly read: () => Promise<number>) {}

  latest(): Promise<number> {
    if (this.#queued) return this.#queued;
    const previous = this.#inFlight;
    if (!previous) return this.#start();
    const queued = previous.then(settled, settled).then(() => {
      this.#queued = null;
      return this.#start();
    });
    this.#queued = queued;
    return queued;
  }

  #start(): Promise<number> {
    const read = this.read();
    this.#inFlight = read;
    const done = () => {
      if (this.#inFlight === read) this.#inFlight = null;
    };
    read.then(done, done);
    return read;
  }
}

const settled = () => undefined;
