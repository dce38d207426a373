import { DeliverPolicy, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import { deliveryMachine } from "../../actors/delivery.machine.ts";
import { facetToken, facetTokens, type ListingFields, ListingFieldsSchema } from "../domain/delivery-listing.ts";
import { Journal, JournalConflictError, NatsUnavailableError, unavailable } from "./journal.ts";
import type { JetStreamPublisher } from "./jetstream-publisher.ts";
import type { JetStreamLayout } from "./layout.ts";

/**
 * The delivery list's index, written by the indexer (runtime/delivery-indexer.ts) and read by
 * delivery-listing.ts. Each delivery has one entry in HOOKD_INDEX on a subject naming its state
 * and hashed facets, so a state's entries are a subject filter, its count is the stream's
 * per-subject counts, and a page is a short read near the stream's end. A delivery that can still
 * change also has one pointer in HOOKD_INDEXED (one message per subject) saying which entry is its
 * current one, which journal sequence that entry reflects, and the entry before it: an update writes
 * the new entry, moves the pointer at its expected sequence, then deletes the old entry. The journal
 * sequence makes updates monotonic (an older update never replaces a newer one, whoever writes it),
 * the entry's msgID makes a replayed update reuse the entry it already wrote, and the pointer's
 * `previous` lets a replay finish a delete that a crash cut off. A delivery created with an
 * idempotency key also gets a pointer from the key's hash, so a search by key is one read.
 *
 * A delivery whose first entry is already `delivered` (created and delivered within one batch, as
 * most are) gets no pointer: that state is final, so no update ever needs one, and a search reads
 * deliveries from the journal (decision record 36). That saves two of the five NATS messages the
 * index costs such a delivery. With no pointer to compare, a batch read again (an instance that
 * stopped without moving the checkpoint) relies on the entry's msgID within the stream's duplicate
 * window, and past it on the entries read back from beyond the checkpoint (`recoverAfter`); a
 * delivery among those takes the pointer path, so it may get a pointer after all, which is harmless.
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** A delete of a message already gone: "no message found" below the stream's first, "sequence N not found" inside it. */
const NO_MESSAGE = /no message found|sequence \d+ not found/i;
const MAX_ROUNDS = 5;
/**
 * Pointers this indexer wrote, kept so the delivery's next update needs no read of it (a backlog's
 * deliveries are indexed once created and again once delivered, in different batches). A stale one
 * (another instance indexed since) only costs the conflict that reads it anew. About 0.7 KB each: 7 MB at most.
 */
const WRITTEN_POINTERS_MAX = 10_000;
/** The states nothing leaves (the delivery machine's final ones): an entry in one is never replaced. */
export const FINAL_STATES: ReadonlySet<string> = new Set(
  Object.entries(deliveryMachine.config.states ?? {}).filter(([, node]) => node.type === "final").map(([name]) => name),
);
/**
 * Entries read back at most after a takeover: one batch's worth and more (a batch is 8,000 journal
 * messages at most). Past it, a batch read again relies on the duplicate window alone.
 */
const RECOVERED_MAX = 50_000;
const RECOVERY_FETCH = 1_000;
const RECOVERY_EXPIRES_MS = 2_000;

/** An entry's body: everything a listed row shows, so a page reads nothing else. */
export type IndexEntry = { id: string; state: string; updatedAt: string; journalSeq: number; fields: ListingFields };
/** Where a delivery's entry sits, with what the entry says, so a delivery is also found by id. */
export type Pointer = IndexEntry & { entry: number; previous: number | null };
type StoredPointer = { seq: number; value: Pointer };
/** Which delivery an idempotency key names; the key itself, so a hash collision is told apart. */
export type KeyPointer = { id: string; key: string };

/** One delivery's change, folded from one batch of journal headers. */
export type IndexUpdate = {
  id: string;
  state: string;
  /** The journal sequence of the newest message this update reflects. */
  journalSeq: number;
  updatedAt: string;
  /** From the created event's header when the batch held it; null to take them from the pointer. */
  fields: ListingFields | null;
  /** The batch held the created event, so no earlier entry can exist (unless this batch is read again). */
  fresh: boolean;
};

/**
 * How far the indexer has read, how many delivery journal messages were then still unread, who
 * reads, and the index sequence every entry written for what it has read lies at or below (absent
 * in a checkpoint written before hookd kept it).
 */
export type Checkpoint = { through: number; behind: number; owner: string; renewedAt: number; indexSeq?: number };

/**
 * What a read-back found: how many entries, the last index sequence it read (its start when none),
 * and the highest journal sequence they were written for (0 when none; the journal's last when the
 * read-back was cut short).
 */
export type Recovery = { entries: number; lastSeq: number; journalSeq: number };

/** An update with what it is applied on: the delivery's pointer now and its fields, read beforehand. */
export type PreparedUpdate = { update: IndexUpdate; pointer: StoredPointer | null; fields: ListingFields | null };

export class DeliveryIndex {
  readonly #entries: Journal;
  readonly #pointers: Journal;
  /** Oldest first: Map keeps insertion order, and a rewritten pointer moves to the end. */
  readonly #written = new Map<string, StoredPointer>();
  /** Entries found past the checkpoint at a takeover, by msgID: what the duplicate window would have answered. */
  readonly #recovered = new Map<string, number>();
  /** The deliveries those entries belong to: their updates read the pointer, whatever the batch says. */
  readonly #recoveredIds = new Set<string>();
  #highestEntrySeq = 0;

  constructor(
    private readonly jsm: JetStreamManager,
    publisher: JetStreamPublisher,
    private readonly layout: JetStreamLayout,
    /** The listing fields of a delivery whose created event carried none (journaled before the index). */
    private readonly fieldsOf: (id: string) => Promise<ListingFields | null>,
  ) {
    this.#entries = new Journal(jsm, layout.streams.index, publisher);
    this.#pointers = new Journal(jsm, layout.streams.indexed, publisher);
  }

  /** Reads what applying `update` needs: its pointer (none for a fresh delivery) and its fields. */
  async prepare(update: IndexUpdate): Promise<PreparedUpdate> {
    const pointer = this.#isFresh(update) ? null : this.#written.get(update.id) ?? await this.#readPointer(update.id);
    const fields = update.fields ?? pointer?.value.fields ?? await this.fieldsOf(update.id);
    return { update, pointer, fields };
  }

  /**
   * Brings one delivery's entry up to its update, unless the index already holds it or a newer one.
   * Its first step, the entry's publish, is handed to the publisher before this returns a promise,
   * so entries applied one after another in a turn are stored in that order.
   */
  async apply(prepared: PreparedUpdate): Promise<void> {
    const { update } = prepared;
    let { pointer } = prepared;
    // The journal no longer has the delivery (aged out): nothing to list.
    const fields = prepared.fields;
    if (!fields) return;
    if (this.#isFresh(update) && FINAL_STATES.has(update.state)) {
      // Its only entry, and the last: no pointer (the key's, if any, as below).
      const key = fields.idempotencyKey;
      await Promise.all([
        this.#writeEntry(update, fields),
        key === undefined ? undefined : this.#writeKey(update.id, key),
      ]);
      return;
    }
    for (let round = 0; round < MAX_ROUNDS; round++) {
      if (pointer && pointer.value.journalSeq >= update.journalSeq) {
        // Read again after a crash: finish the delete that may not have happened.
        if (pointer.value.journalSeq === update.journalSeq) await this.#deleteEntry(pointer.value.previous);
        return;
      }
      // The entry's publish goes out first (the index's order); a key's pointer goes out beside it,
      // before the delivery's first pointer, so a crash between them cannot leave the key unrecorded.
      const key = !pointer ? fields.idempotencyKey : undefined;
      const [entry] = await Promise.all([
        this.#writeEntry(update, fields),
        key === undefined ? undefined : this.#writeKey(update.id, key),
      ]);
      try {
        const value = this.#pointerValue(update, fields, entry, pointer);
        const written = await this.#pointers.append(
          this.layout.subjects.indexedDelivery(update.id),
          encoder.encode(JSON.stringify(value)),
          { expectedSeq: pointer?.seq ?? 0 },
        );
        this.#remember(update.id, { seq: written.seq, value });
      } catch (error) {
        this.#written.delete(update.id);
        if (!(error instanceof JournalConflictError)) throw error;
        const newer = await this.#readPointer(update.id);
        if (newer && newer.value.journalSeq >= update.journalSeq && newer.value.entry !== entry) {
          await this.#deleteEntry(entry);
        }
        pointer = newer;
        continue;
      }
      if (pointer && pointer.value.entry !== entry) await this.#deleteEntry(pointer.value.entry);
      return;
    }
    throw new Error(`the index entry of ${update.id} kept changing under the indexer`);
  }

  /**
   * Reads back the entries written past `indexSeq` (the checkpoint's: every entry for a journal
   * message it covers sits at or below it): those of a batch an instance applied but did not
   * checkpoint before it stopped, which this leader reads again. Applying that batch again then
   * writes none of them twice, even past the stream's duplicate window (a lone instance restarted
   * after minutes). Read through a consumer, which the stream's leader serves: an absence must be
   * true. Starts this leader's count of the entries it writes (`highestEntrySeq`) afresh.
   */
  async recoverAfter(indexSeq: number, js: JetStreamClient): Promise<Recovery> {
    this.#recovered.clear();
    this.#recoveredIds.clear();
    this.#highestEntrySeq = 0;
    const recovery = { entries: 0, lastSeq: indexSeq, journalSeq: 0 };
    const last = await this.lastEntrySeq();
    if (last <= indexSeq) return recovery;
    const consumer = await js.consumers.get(this.layout.streams.index, {
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: indexSeq + 1,
    });
    try {
      while (recovery.lastSeq < last && recovery.entries < RECOVERED_MAX) {
        const wanted = Math.min(RECOVERY_FETCH, last - recovery.lastSeq, RECOVERED_MAX - recovery.entries);
        let got = 0;
        for await (const message of await consumer.fetch({ max_messages: wanted, expires: RECOVERY_EXPIRES_MS })) {
          got++;
          const body = message.json<IndexEntry>();
          this.#recovered.set(entryMsgID(body.id, body.journalSeq), message.seq);
          this.#recoveredIds.add(body.id);
          recovery.entries++;
          recovery.journalSeq = Math.max(recovery.journalSeq, body.journalSeq);
          recovery.lastSeq = message.seq;
          // Nothing after it (the rest deleted since the count): done, without waiting the fetch out.
          if (message.info.pending === 0) {
            recovery.lastSeq = last;
            break;
          }
        }
        if (got === 0) break;
      }
    } finally {
      await consumer.delete().catch(() => undefined);
    }
    // Cut short (the cap, or a fetch that brought nothing): unread entries may be for any journal
    // message there was, so the checkpoint's index sequence waits until all of those are read again.
    if (recovery.lastSeq < last) recovery.journalSeq = await this.#journalLastSeq();
    return recovery;
  }

  async #journalLastSeq(): Promise<number> {
    return (await this.jsm.streams.info(this.layout.streams.journal).catch(unavailable)).state.last_seq;
  }

  /** The index's last sequence. */
  async lastEntrySeq(): Promise<number> {
    return (await this.jsm.streams.info(this.layout.streams.index).catch(unavailable)).state.last_seq;
  }

  /**
   * Where to read back from when a checkpoint does not say (written before hookd kept `indexSeq`,
   * or none at all): the index's last entries, as many as a read-back takes. An older hookd's
   * uncheckpointed batch is among them.
   */
  async tailStart(): Promise<number> {
    return Math.max(0, (await this.lastEntrySeq()) - RECOVERED_MAX);
  }

  /** The highest entry sequence written or reused since the last read-back: every entry of what was applied since lies at or below it. */
  get highestEntrySeq(): number {
    return this.#highestEntrySeq;
  }

  /** As readCheckpoint, answered by the stream's leader: whether another instance wrote it since must be true. */
  async readCheckpointFromLeader(): Promise<{ seq: number; value: Checkpoint } | null> {
    const entry = await this.#pointers.readLastFromLeader(this.layout.subjects.indexCheckpoint);
    return entry ? { seq: entry.seq, value: JSON.parse(decoder.decode(entry.data)) as Checkpoint } : null;
  }

  async readCheckpoint(): Promise<{ seq: number; value: Checkpoint } | null> {
    const entry = await this.#pointers.readLast(this.layout.subjects.indexCheckpoint);
    return entry ? { seq: entry.seq, value: JSON.parse(decoder.decode(entry.data)) as Checkpoint } : null;
  }

  /** Writes the checkpoint at `expectedSeq`; throws JournalConflictError when another instance wrote it since. */
  async writeCheckpoint(value: Checkpoint, expectedSeq: number): Promise<number> {
    const data = encoder.encode(JSON.stringify(value));
    return (await this.#pointers.append(this.layout.subjects.indexCheckpoint, data, { expectedSeq })).seq;
  }

  /** The newest delivery with this key wins the subject (one message per subject): a key reused after its window names the newer. */
  async #writeKey(id: string, key: string): Promise<void> {
    const value: KeyPointer = { id, key };
    await this.#pointers.append(
      this.layout.subjects.indexedKey(facetToken(key)),
      encoder.encode(JSON.stringify(value)),
    );
  }

  async #writeEntry(update: IndexUpdate, fields: ListingFields): Promise<number> {
    const body: IndexEntry = {
      id: update.id,
      state: update.state,
      updatedAt: update.updatedAt,
      journalSeq: update.journalSeq,
      fields,
    };
    const subject = this.layout.subjects.indexEntry(update.state, facetTokens(fields));
    const msgID = entryMsgID(update.id, update.journalSeq);
    const recovered = this.#recovered.get(msgID);
    const seq = recovered ??
      (await this.#entries.append(subject, encoder.encode(JSON.stringify(body)), { msgID })).seq;
    this.#highestEntrySeq = Math.max(this.#highestEntrySeq, seq);
    return seq;
  }

  /** The batch says no entry can exist yet, and no entry read back at a takeover says otherwise. */
  #isFresh(update: IndexUpdate): boolean {
    return update.fresh && !this.#recoveredIds.has(update.id);
  }

  #remember(id: string, pointer: StoredPointer): void {
    this.#written.delete(id);
    this.#written.set(id, pointer);
    if (this.#written.size > WRITTEN_POINTERS_MAX) this.#written.delete(this.#written.keys().next().value!);
  }

  #pointerValue(update: IndexUpdate, fields: ListingFields, entry: number, old: StoredPointer | null): Pointer {
    return {
      id: update.id,
      entry,
      previous: old && old.value.entry !== entry ? old.value.entry : null,
      state: update.state,
      updatedAt: update.updatedAt,
      journalSeq: update.journalSeq,
      fields,
    };
  }

  async #readPointer(id: string): Promise<StoredPointer | null> {
    const entry = await this.#pointers.readLast(this.layout.subjects.indexedDelivery(id));
    if (!entry) return null;
    const value = JSON.parse(decoder.decode(entry.data)) as Pointer;
    return { seq: entry.seq, value: { ...value, fields: ListingFieldsSchema.parse(value.fields) } };
  }

  async #deleteEntry(seq: number | null): Promise<void> {
    if (seq === null) return;
    try {
      await this.jsm.streams.deleteMessage(this.layout.streams.index, seq, false);
    } catch (error) {
      if (!NO_MESSAGE.test(String(error))) throw new NatsUnavailableError(error);
    }
  }
}

/** An entry's msgID: the same update written again (a batch read again) is the same message. */
function entryMsgID(id: string, journalSeq: number): string {
  return `${id}:${journalSeq}`;
}
