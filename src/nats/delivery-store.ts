import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import type { DeliveryState } from "../../actors/delivery.machine.ts";
import {
  deliveryInputOf,
  initialDelivery,
  persistDelivery,
  type PersistedDelivery,
} from "../../actors/delivery.fold.ts";
import {
  type DeliveryCreated,
  DeliveryCreatedSchema,
  type DeliveryTransition,
  DeliveryTransitionSchema,
} from "../domain/delivery-events.ts";
import {
  Journal,
  JournalConflictError,
  type JournalEntry,
  NatsUnavailableError,
  unavailable,
  UnreadableEntryError,
} from "./journal.ts";
import type { JetStreamLayout } from "./layout.ts";
import { batchIndexOf, batchKeyOf } from "../domain/batch-ids.ts";
import type { JetStreamPublisher } from "./jetstream-publisher.ts";
import {
  createdHeaders,
  type DeliveryTags,
  LISTING_HEADER,
  STATE_HEADER,
  tagsOf as tagsOfCreated,
  transitionHeaders,
} from "./delivery-change-headers.ts";
import { type ListingFields, listingFieldsFrom, listingFieldsOf } from "../domain/delivery-listing.ts";
import type { IndexEntry } from "./delivery-index.ts";

/** Where a delivery's journal lives in JetStream, and how its events are encoded there. */

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export { LISTING_HEADER, STATE_HEADER };

export type StoredTransition = { seq: number; time: Date; event: DeliveryTransition; after: PersistedDelivery };
export type StoredCreated = { seq: number; event: DeliveryCreated };
export type Head = { seq: number; after: PersistedDelivery };

/** The created event's listing fields as a header: the indexer reads journal headers, never a created body. */
function listingHeaders(created: DeliveryCreated): Record<string, string> {
  return { [LISTING_HEADER]: JSON.stringify(listingFieldsOf(created)) };
}

/** Every header a created event carries: the change feed's tags and the list's fields. */
function headersOfCreated(created: DeliveryCreated): Record<string, string> {
  return { ...createdHeaders(created), ...listingHeaders(created) };
}

/** What `read` makes of a journal message, or an UnreadableEntryError naming the message. */
function readable<T>(entry: { seq: number; subject: string }, read: () => T): T {
  try {
    return read();
  } catch (error) {
    throw new UnreadableEntryError(entry.subject, entry.seq, error);
  }
}

function parseCreated(entry: JournalEntry): StoredCreated {
  return readable(entry, () => ({
    seq: entry.seq,
    event: DeliveryCreatedSchema.parse(JSON.parse(decoder.decode(entry.data))),
  }));
}

function createdHeadersOf(created: Uint8Array): Record<string, string> | undefined {
  try {
    const parsed = DeliveryCreatedSchema.safeParse(JSON.parse(decoder.decode(created)));
    return parsed.success ? headersOfCreated(parsed.data) : undefined;
  } catch {
    return undefined;
  }
}

/** The created event a work message carries (a batched delivery's hand-off), or undefined when it carries only an id. */
export function createdCarriedBy(data: Uint8Array): DeliveryCreated | undefined {
  const raw = JSON.parse(decoder.decode(data)) as { created?: unknown };
  return raw.created === undefined ? undefined : DeliveryCreatedSchema.parse(raw.created);
}

/** The items of an ingest batch, in batch order, unchecked: each is checked where it is used. */
export function batchItems(data: Uint8Array): unknown[] {
  const raw = JSON.parse(decoder.decode(data)) as { deliveries?: unknown };
  if (!Array.isArray(raw.deliveries)) throw new Error("not an ingest batch");
  return raw.deliveries;
}

/** One event with the delivery it led to. */
export type TransitionStep = { event: DeliveryTransition; after: PersistedDelivery };
/**
 * A journal message holds one step, or several made at once (an attempt's start and its outcome). The
 * first message of a delivery accepted in a batch also holds its created event (decision record 26), and
 * may hold no step then: a delivery journaled as pending, to wait for a worker.
 */
type StoredSteps = TransitionStep | { steps: TransitionStep[]; created?: unknown };

type StoredMessage = { seq: number; subject: string; data: Uint8Array };

function storedStepsOf(entry: StoredMessage): { steps: TransitionStep[]; created?: unknown } {
  return readable(entry, () => {
    const raw = JSON.parse(decoder.decode(entry.data)) as StoredSteps;
    const stored = "steps" in raw ? raw : { steps: [raw] };
    const empty = stored.steps.length === 0 && stored.created === undefined;
    if (empty || stored.steps.some((step) => !step.after)) throw new Error("it holds no step");
    return stored;
  });
}

function stepsOf(entry: StoredMessage): TransitionStep[] {
  return storedStepsOf(entry).steps;
}

/** The state a transitions message leaves its delivery in, from its body (one journaled before the state header). */
function stateIn(entry: JournalEntry): string {
  return stepsOf(entry).at(-1)?.after.state ?? "pending";
}

/** The state a delivery journaled with its created event alone is in: pending, no attempt made. */
function pendingAfter(created: DeliveryCreated): PersistedDelivery {
  return persistDelivery(initialDelivery(deliveryInputOf(created)));
}

/** The steps of one message on a delivery's transitions subject, their events checked. */
export function transitionStepsOf(entry: StoredMessage): TransitionStep[] {
  const steps = stepsOf(entry);
  return readable(
    entry,
    () => steps.map((step) => ({ event: DeliveryTransitionSchema.parse(step.event), after: step.after })),
  );
}

function parseTransitions(entry: JournalEntry): StoredTransition[] {
  return transitionStepsOf(entry).map((step) => ({ seq: entry.seq, time: entry.time, ...step }));
}

export class DeliveryStore {
  readonly journal: Journal;
  readonly #subjects: JetStreamLayout["subjects"];

  constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly publisher: JetStreamPublisher,
    private readonly layout: JetStreamLayout,
  ) {
    this.journal = new Journal(jsm, layout.streams.journal, publisher);
    this.#subjects = layout.subjects;
  }

  /**
   * Appends the accepted request. The subject is new (a fresh ULID), so no expected sequence is
   * needed, and an unkeyed create is a publish without headers: ingest's hot path. With an
   * idempotency key, JetStream's msgID dedupe answers with the sequence of the first create,
   * whose delivery is returned instead, with its created event for the caller to compare.
   */
  async create(
    created: DeliveryCreated,
    options: { exclusive?: boolean } = {},
  ): Promise<{ id: string; duplicate: boolean; original?: DeliveryCreated }> {
    const key = created.data.idempotencyKey;
    let result;
    try {
      const subject = this.#subjects.deliveryCreated(created.data.id);
      result = await this.journal.append(subject, encoder.encode(JSON.stringify(created)), {
        ...(key === undefined ? {} : { msgID: `idempotency:${key}` }),
        headers: headersOfCreated(created),
        // Derived ids (fan-out) must be created once: a second create of the same id is a replay of the first.
        ...(options.exclusive ? { expectedSeq: 0 } : {}),
      });
    } catch (error) {
      if (options.exclusive && error instanceof JournalConflictError) return { id: created.data.id, duplicate: true };
      throw error;
    }
    if (!result.duplicate) return { id: created.data.id, duplicate: false };
    const original = await this.journal.readAt(result.seq);
    if (!original) throw new NatsUnavailableError(new Error(`deduplicated create at sequence ${result.seq} is gone`));
    const first = parseCreated(original).event;
    return { id: first.data.id, duplicate: true, original: first };
  }

  async readCreated(id: string): Promise<StoredCreated | null> {
    const entry = await this.journal.readLast(this.#subjects.deliveryCreated(id));
    if (entry) return parseCreated(entry);
    const key = batchKeyOf(id);
    if (!key) return null;
    const embedded = await this.readEmbeddedCreated(id);
    if (embedded) return embedded;
    // Accepted in a batch that no worker has taken yet: read it from the batch.
    const batch = await this.jsm.direct
      .getMessage(this.layout.streams.ingest, { last_by_subj: this.#subjects.ingestBatch(key) })
      .catch(unavailable);
    if (batch) {
      // The id says where it sits in the batch: read and check that one item, not the whole batch.
      const item = readable(batch, () => batchItems(batch.data))[batchIndexOf(id) ?? -1];
      const created = DeliveryCreatedSchema.safeParse(item);
      // Not yet in the journal, so no sequence there; 0 says "before anything".
      if (created.success && created.data.data.id === id) return { seq: 0, event: created.data };
    }
    // A worker may have taken the batch (and removed it) between the reads: the journal has it now. Asked
    // of the leader: a fan-out delivery is in no batch, and its first message, journaled just before it
    // was sent, may not have reached the replica that answered above (a receiver verifying it at once).
    const expanded = await this.journal.readLast(this.#subjects.deliveryCreated(id));
    return expanded ? parseCreated(expanded) : this.readEmbeddedCreated(id, { fromLeader: true });
  }

  /** A created event carried by the first message on the delivery's transitions subject (decision records 26, 27). */
  private async readEmbeddedCreated(id: string, options: { fromLeader?: boolean } = {}): Promise<StoredCreated | null> {
    const subject = this.#subjects.deliveryTransitions(id);
    const first = options.fromLeader
      ? await this.journal.readFirstFromLeader(subject)
      : await this.journal.readFirst(subject);
    const created = first ? storedStepsOf(first).created : undefined;
    if (!first || created === undefined) return null;
    return { seq: first.seq, event: readable(first, () => DeliveryCreatedSchema.parse(created)) };
  }

  /**
   * A created event written to the journal, not accepted in an ingest batch (fan-out's, reports'): on
   * `<id>.created`, or in the delivery's first transitions message when fan-out made it by its first
   * attempt (decision record 27). No ingest batch to look in.
   */
  async readJournaledCreated(id: string): Promise<StoredCreated | null> {
    const entry = await this.journal.readLast(this.#subjects.deliveryCreated(id));
    return entry ? parseCreated(entry) : this.readEmbeddedCreated(id);
  }

  /**
   * Writes an already encoded created event to `<id>.created`, once (a batch refused as too large, stored
   * item by item): storing it again writes nothing.
   */
  async storeCreatedOnce(id: string, created: Uint8Array, headers?: Record<string, string>): Promise<void> {
    // Only the rare item-by-item path comes without headers: reading the event back for them costs a parse there.
    const tagged = headers ?? createdHeadersOf(created);
    try {
      await this.journal.append(this.#subjects.deliveryCreated(id), created, { expectedSeq: 0, headers: tagged });
    } catch (error) {
      if (!(error instanceof JournalConflictError)) throw error;
    }
  }

  /**
   * Whether the delivery's journal holds anything, as the stream's leader sees it: a direct get that a
   * lagging replica answers can miss a delivery created a moment ago (decision record 21).
   */
  async isJournaledOnLeader(id: string): Promise<boolean> {
    const subjects = [this.#subjects.deliveryTransitions(id), this.#subjects.deliveryCreated(id)];
    for (const subject of subjects) if (await this.journal.readLastFromLeader(subject)) return true;
    return false;
  }

  /**
   * The delivery as a list row shows it, read from its journal: its state, the time and journal
   * sequence of its last change. A search shows this, not the index's entry, which may lag behind
   * (and a delivery indexed as delivered from the start has no pointer to find it by, decision
   * record 36). Its fields come from the last message's listing header, else from `indexedFields`
   * (the index's, when it has them), else from the created event. Null when the journal holds
   * nothing of it; an UnreadableEntryError when what it needs does not parse (the search says so).
   */
  async readListed(id: string, indexedFields: () => Promise<ListingFields | null>): Promise<IndexEntry | null> {
    const created = this.#subjects.deliveryCreated(id);
    const last = await this.journal.readLast(this.#subjects.deliveryTransitions(id)) ??
      await this.journal.readLast(created);
    if (!last) return null;
    const fields = listingFieldsFrom(last.headers[LISTING_HEADER]) ?? await indexedFields() ??
      await this.#listingFieldsOf(id);
    const state = last.subject === created ? "pending" : last.headers[STATE_HEADER] || stateIn(last);
    return fields ? { id, state, updatedAt: last.time.toISOString(), journalSeq: last.seq, fields } : null;
  }

  /** From the created event itself, for a delivery whose last message carries no listing header. */
  async #listingFieldsOf(id: string): Promise<ListingFields | null> {
    const stored = await this.readCreated(id);
    return stored ? listingFieldsOf(stored.event) : null;
  }

  async readHead(id: string): Promise<Head | null> {
    const entry = await this.journal.readLast(this.#subjects.deliveryTransitions(id));
    if (!entry) return null;
    const { steps, created } = storedStepsOf(entry);
    const last = steps.at(-1)?.after;
    return { seq: entry.seq, after: last ?? pendingAfter(readable(entry, () => DeliveryCreatedSchema.parse(created))) };
  }

  async readTransitions(id: string): Promise<StoredTransition[]> {
    return (await this.journal.readAll(this.#subjects.deliveryTransitions(id))).flatMap(parseTransitions);
  }

  /**
   * Appends transitions decided on the subject's state at `expectedSeq` (0: no transition yet), in one
   * message: they are journaled together or not at all. `from` (the state they leave) and `tags` go
   * into headers for the change feed.
   */
  async appendTransitions(
    id: string,
    steps: readonly TransitionStep[],
    expectedSeq: number,
    change: { from: DeliveryState; tags: DeliveryTags },
    /** A batched delivery's created event, journaled in this first message (expectedSeq 0) with its steps. */
    created?: DeliveryCreated,
  ): Promise<number> {
    if (steps.length === 0) throw new Error("appendTransitions needs at least one step");
    return this.#appendSteps(id, steps, expectedSeq, change, created);
  }

  async #appendSteps(
    id: string,
    steps: readonly TransitionStep[],
    expectedSeq: number,
    change: { from: DeliveryState; tags: DeliveryTags },
    created: DeliveryCreated | undefined,
  ): Promise<number> {
    const subject = this.#subjects.deliveryTransitions(id);
    const stored: StoredSteps = created
      ? { created, steps: [...steps] }
      : steps.length === 1
      ? steps[0]!
      : { steps: [...steps] };
    const state = steps.at(-1)?.after.state ?? "pending";
    const result = await this.journal.append(subject, encoder.encode(JSON.stringify(stored)), {
      expectedSeq,
      headers: {
        ...(created ? headersOfCreated(created) : {}),
        [STATE_HEADER]: state,
        ...transitionHeaders(change.from, steps, change.tags),
      },
    });
    return result.seq;
  }

  /**
   * Hands a batched delivery that its batch's worker did not attempt to the work queue: journaled as
   * pending first (unless something already is), then queued. The msgID makes a second hand-off of the
   * same delivery (its batch taken again after a crash) a no-op while the work stream remembers it.
   */
  async handOffBatched(created: DeliveryCreated): Promise<void> {
    const tags = tagsOfCreated(created);
    try {
      await this.#appendSteps(created.data.id, [], 0, { from: "pending", tags }, created);
    } catch (error) {
      if (!(error instanceof JournalConflictError)) throw error;
    }
    await this.enqueueWork(created.data.id, `first:${created.data.id}`, created);
  }

  /** Tells the batch's first attempts that a command touched one of its deliveries (decision record 26). */
  async markBatchTouched(id: string): Promise<void> {
    const key = batchKeyOf(id);
    if (key) await this.journal.append(this.#subjects.ingestBatchTouched(key), encoder.encode(id));
  }

  /** Whether a command touched any delivery of the batch while it waited (read from the stream's leader: an absence must be true). */
  async isBatchTouched(key: string): Promise<boolean> {
    return (await this.journal.readLastFromLeader(this.#subjects.ingestBatchTouched(key))) !== null;
  }

  /**
   * Marks a topic event that this instance leaves before making each of its deliveries: the next taker
   * journals each start before sending (decision record 31), whatever its delivery count says.
   */
  async markFanOutLeft(topicSeq: number): Promise<void> {
    await this.journal.append(this.#subjects.fanOutLeft(topicSeq), new Uint8Array());
  }

  /** Whether an instance left the topic event unfinished (read from the stream's leader: an absence must be true). */
  async isFanOutLeft(topicSeq: number): Promise<boolean> {
    return (await this.journal.readLastFromLeader(this.#subjects.fanOutLeft(topicSeq))) !== null;
  }

  /** Whether the work queue holds a message for the delivery (its create's, or a queued retry), in flight or waiting. */
  async isQueued(id: string): Promise<boolean> {
    for (const subject of [this.#subjects.deliveryCreated(id), this.#subjects.deliveryWork(id)]) {
      const found = await this.jsm.streams.getMessage(this.layout.streams.work, { last_by_subj: subject })
        .catch(() => null);
      if (found) return true;
    }
    return false;
  }

  /**
   * Puts a delivery on the work queue (a manual retry, a batched delivery's hand-off, with its created
   * event); the msgID makes a repeated request a no-op while the work stream remembers it.
   */
  async enqueueWork(id: string, dedupeId: string, created?: DeliveryCreated): Promise<void> {
    try {
      const work = encoder.encode(JSON.stringify(created ? { id, created } : { id }));
      await this.js.publish(this.#subjects.deliveryWork(id), work, { msgID: dedupeId, timeout: 5_000 });
    } catch (error) {
      throw new NatsUnavailableError(error);
    }
  }
}
