import { type Consumer, DeliverPolicy, type JetStreamClient, type JsMsg } from "@nats-io/jetstream";
import { listingFieldsFrom } from "../domain/delivery-listing.ts";
import type { Logger } from "../log.ts";
import type { DeliveryIndex, IndexUpdate } from "../nats/delivery-index.ts";
import { LISTING_HEADER, STATE_HEADER } from "../nats/delivery-store.ts";
import { JournalConflictError } from "../nats/journal.ts";
import type { JetStreamLayout } from "../nats/layout.ts";
import { receivedHeaders } from "../nats/received-headers.ts";

/**
 * Keeps the delivery list's index (nats/delivery-index.ts) in step with the journal, off the
 * delivery path: it follows the journal's delivery subjects with an ordered consumer, headers only
 * (a transition's state is a header, a created event's listing fields too), folds each batch to one
 * update per delivery (a delivery created and delivered within the batch costs one entry), and
 * writes those. How far it has read is a checkpoint in NATS, which is also a lease: one instance
 * indexes at a time, the others check the lease now and then and take over when it runs out or is
 * handed back (an instance that stops hands it back). A new
 * index (or an old journal) is read from the journal's first message: that is the backfill. A batch
 * is applied before the checkpoint moves past it, so a crash makes the next leader read it again,
 * which writes nothing twice: updates are monotonic by journal sequence, and the next leader first
 * reads back the entries written past the checkpoint (DeliveryIndex.recoverAfter).
 */

export type DeliveryIndexerDeps = {
  js: JetStreamClient;
  index: DeliveryIndex;
  layout: JetStreamLayout;
  log: Logger;
  clock: () => number;
  /** This instance's name in the lease. */
  owner: string;
  /** Journal messages read per batch at most. */
  batchSize?: number;
  /** How long a lease lasts without renewal; another instance takes over after it. */
  leaseMs?: number;
  /** Deliveries updated at once within a batch. */
  parallelism?: number;
};

export type DeliveryIndexer = { stop(): Promise<void> };

type Lease = { checkpointSeq: number; through: number; behind: number; indexSeq: number; renewedAt: number };

const FETCH_EXPIRES_MS = 1_000;
/** Journal messages per batch at most: a larger batch folds more of a delivery's messages into one update. */
const BATCH_SIZE = 8_000;
/** Updates prepared, then written, at once within a batch: enough to keep NATS busy. */
const PARALLELISM = 256;
/** How long a batch waits for more after its first message: the list's delay behind the journal, at most. */
const LINGER_MS = 150;
const RETRY_AFTER_ERROR_MS = 2_000;

export function startDeliveryIndexer(deps: DeliveryIndexerDeps): DeliveryIndexer {
  let stopped = false;
  let wake: (() => void) | null = null;
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  const leaseMs = deps.leaseMs ?? 10_000;
  const loop = (async () => {
    while (!stopped) {
      try {
        const lease = await claim(deps, leaseMs);
        if (lease) await lead(deps, lease, leaseMs, () => stopped);
        else if (!stopped) await pause(leaseMs / 4);
      } catch (error) {
        if (stopped) break;
        deps.log.warn({ err: error }, "the delivery indexer stopped on an error; it reads the journal again shortly");
        await pause(RETRY_AFTER_ERROR_MS);
      }
    }
    await handBack(deps);
  })();
  return {
    async stop() {
      stopped = true;
      (wake as (() => void) | null)?.();
      await loop;
    },
  };
}

/** The lease when this instance holds it now (it was free, ran out, or was its own); null when another holds it. */
async function claim(deps: DeliveryIndexerDeps, leaseMs: number): Promise<Lease | null> {
  const current = await deps.index.readCheckpoint();
  const now = deps.clock();
  if (current && current.value.owner !== deps.owner && now - current.value.renewedAt < leaseMs) return null;
  const through = current?.value.through ?? 0;
  const behind = current?.value.behind ?? 0;
  const indexSeq = current?.value.indexSeq ?? await deps.index.tailStart();
  try {
    const checkpointSeq = await deps.index.writeCheckpoint(
      { through, behind, owner: deps.owner, renewedAt: now, indexSeq },
      current?.seq ?? 0,
    );
    if (current?.value.owner !== deps.owner) deps.log.info({ through }, "this instance now keeps the delivery index");
    return { checkpointSeq, through, behind, indexSeq, renewedAt: now };
  } catch (error) {
    if (error instanceof JournalConflictError) return null;
    throw error;
  }
}

/** Reads the journal from the checkpoint on, batch by batch, until stopped or the lease is lost. */
async function lead(deps: DeliveryIndexerDeps, lease: Lease, leaseMs: number, stopped: () => boolean): Promise<void> {
  // Stopped while the lease was being taken: no consumer (which can take long to make) before the hand-back.
  if (stopped()) return;
  // What an instance that stopped without moving the checkpoint wrote already: the batch read again writes none twice.
  const recovery = await deps.index.recoverAfter(lease.indexSeq, deps.js);
  if (recovery.entries > 0) {
    deps.log.info(
      { recovered: recovery.entries, through: lease.through },
      "index entries past the checkpoint read back",
    );
  }
  let { checkpointSeq, through, behind, indexSeq, renewedAt } = lease;
  // A long read-back renews the lease before the consumer (itself slow to make on a large journal) is made.
  if (deps.clock() - renewedAt >= leaseMs / 3) {
    const renewed = await renew(deps, lease, checkpointSeq);
    if (renewed === null) return lostLease(deps);
    [checkpointSeq, renewedAt] = renewed;
  }
  const consumer = await deps.js.consumers.get(deps.layout.streams.journal, {
    filter_subjects: deps.layout.subjects.allDeliveryJournals,
    headers_only: true,
    ...(lease.through > 0
      ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: lease.through + 1 }
      : { deliver_policy: DeliverPolicy.All }),
  });
  try {
    while (!stopped()) {
      const messages = await nextBatch(consumer, deps.batchSize ?? BATCH_SIZE);
      const last = messages.at(-1);
      // Folded, the messages are dropped: a batch's updates are far smaller than its messages.
      const updates = foldBatch(deps.layout, messages);
      messages.length = 0;
      if (last) {
        if (!await applyBatch(deps, updates, checkpointSeq)) return lostLease(deps);
        through = last.seq;
        // Entries read back stay above the checkpoint's index sequence until their journal is read again.
        if (through >= recovery.journalSeq) indexSeq = Math.max(indexSeq, recovery.lastSeq, deps.index.highestEntrySeq);
      }
      // What the server said was still to come after the batch's last message; none after an empty wait.
      behind = last?.info.pending ?? 0;
      const now = deps.clock();
      if (!last && now - renewedAt < leaseMs / 3) continue;
      try {
        checkpointSeq = await deps.index.writeCheckpoint(
          { through, behind, owner: deps.owner, renewedAt: now, indexSeq },
          checkpointSeq,
        );
        renewedAt = now;
      } catch (error) {
        if (!(error instanceof JournalConflictError)) throw error;
        return lostLease(deps);
      }
    }
  } finally {
    await consumer.delete().catch(() => undefined);
  }
}

/** The checkpoint written again as it was, renewed now: its new sequence and time; null when another instance wrote it since. */
async function renew(deps: DeliveryIndexerDeps, lease: Lease, checkpointSeq: number): Promise<[number, number] | null> {
  const now = deps.clock();
  const { through, behind, indexSeq } = lease;
  try {
    const renewed = { through, behind, owner: deps.owner, renewedAt: now, indexSeq };
    return [await deps.index.writeCheckpoint(renewed, checkpointSeq), now];
  } catch (error) {
    if (error instanceof JournalConflictError) return null;
    throw error;
  }
}

function lostLease(deps: DeliveryIndexerDeps): void {
  deps.log.warn("another instance took over the delivery index (this one paused past its lease)");
}

/**
 * A stopping instance hands the lease back (its checkpoint, renewed at 0), so another takes the index
 * over at its next look instead of after the lease runs out: a rolling restart leaves the list behind
 * by seconds, not by a lease. Whatever ended the loop (a stop while leading, while taking the lease,
 * while waiting out an error), the checkpoint says whether this instance still holds it. Best effort:
 * a crash, or NATS away, leaves the lease to run out.
 */
async function handBack(deps: DeliveryIndexerDeps): Promise<void> {
  try {
    const current = await deps.index.readCheckpoint();
    if (!current || current.value.owner !== deps.owner || current.value.renewedAt === 0) return;
    await deps.index.writeCheckpoint({ ...current.value, renewedAt: 0 }, current.seq);
  } catch (error) {
    if (!(error instanceof JournalConflictError)) {
      deps.log.warn({ err: error }, "the delivery index's lease may not have been handed back; if not, it runs out");
    }
  }
}

/**
 * Waits for the next journal message, then takes what else is there after a short linger: a
 * delivery's created event and its quick first outcome, milliseconds apart, then fold into one
 * update. A backlog (a backfill) is read in full batches without lingering.
 */
async function nextBatch(consumer: Consumer, batchSize: number): Promise<JsMsg[]> {
  const first = await consumer.next({ expires: FETCH_EXPIRES_MS });
  if (!first) return [];
  if (first.info.pending < batchSize) await new Promise((resolve) => setTimeout(resolve, LINGER_MS));
  const pending = first.info.pending < batchSize ? (await consumer.info(false)).num_pending : first.info.pending;
  const wanted = Math.min(pending, batchSize - 1);
  const messages = [first];
  if (wanted === 0) return messages;
  for await (const message of await consumer.fetch({ max_messages: wanted, expires: FETCH_EXPIRES_MS })) {
    messages.push(message);
  }
  return messages;
}

/** One update per delivery: its newest state and sequence in the batch, with its fields if the batch has them. */
export function foldBatch(layout: JetStreamLayout, messages: readonly JsMsg[]): IndexUpdate[] {
  const updates = new Map<string, IndexUpdate>();
  for (const message of messages) {
    const parsed = layout.parseSubject(message.subject);
    if (parsed?.kind !== "delivery-created" && parsed?.kind !== "delivery-transitions") continue;
    const updatedAt = new Date(Math.floor(message.info.timestampNanos / 1e6)).toISOString();
    const known = updates.get(parsed.id);
    const headers = receivedHeaders(message);
    if (parsed.kind === "delivery-created") {
      const fields = listingFieldsFrom(headers.get(LISTING_HEADER));
      if (known) known.fields ??= fields;
      else {updates.set(parsed.id, {
          id: parsed.id,
          state: "pending",
          journalSeq: message.seq,
          updatedAt,
          fields,
          fresh: true,
        });}
      continue;
    }
    const state = headers.get(STATE_HEADER) || "pending";
    // A batched delivery's first message holds its created event, and so its fields (decision record 26).
    const fields = listingFieldsFrom(headers.get(LISTING_HEADER));
    if (known) {
      Object.assign(known, { state, journalSeq: message.seq, updatedAt });
      if (fields) known.fields ??= fields;
    } else {updates.set(parsed.id, {
        id: parsed.id,
        state,
        journalSeq: message.seq,
        updatedAt,
        fields,
        fresh: fields !== null,
      });}
  }
  return [...updates.values()];
}

/**
 * Applies a batch's updates in the order of their journal sequences, so entries are stored in the
 * order the deliveries changed (a page's `since` and `until` rely on it): what each needs is read
 * first, in parallel, then each chunk's entries are published in order in one turn. Before each
 * chunk's writes it checks that no other instance has written the checkpoint since `checkpointSeq`
 * (this one paused past its lease): a delivery listed as delivered from the start has no pointer
 * whose compare-and-set would stop a second entry. False when the lease was lost.
 */
async function applyBatch(deps: DeliveryIndexerDeps, folded: IndexUpdate[], checkpointSeq: number): Promise<boolean> {
  const updates = folded.sort((a, b) => a.journalSeq - b.journalSeq);
  const chunk = deps.parallelism ?? PARALLELISM;
  for (let start = 0; start < updates.length; start += chunk) {
    const prepared = await Promise.all(updates.slice(start, start + chunk).map((update) => deps.index.prepare(update)));
    if (((await deps.index.readCheckpointFromLeader())?.seq ?? 0) > checkpointSeq) return false;
    await Promise.all(prepared.map((one) => deps.index.apply(one)));
  }
  return true;
}
