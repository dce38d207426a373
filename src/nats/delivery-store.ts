import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import type { DeliveryState } from "../../actors/delivery.machine.ts";
import type { PersistedDelivery } from "../../actors/delivery.fold.ts";
import {
  type DeliveryCreated,
  DeliveryCreatedSchema,
  type DeliveryTransition,
  DeliveryTransitionSchema,
} from "../domain/delivery-events.ts";
import { Journal, JournalConflictError, type JournalEntry, NatsUnavailableError, unavailable } from "./journal.ts";
import type { JetStreamLayout } from "./layout.ts";
import { batchIndexOf, batchKeyOf } from "../domain/batch-ids.ts";
import type { JetStreamPublisher } from "./jetstream-publisher.ts";
import { createdHeaders, type DeliveryTags, STATE_HEADER, transitionHeaders } from "./delivery-change-headers.ts";
import { listingFieldsOf } from "../domain/delivery-listing.ts";

/** Where a delivery's journal lives in JetStream, and how its events are encoded there. */

const encoder = new TextEncoder();
const decoder = new TextDecoder();
export { STATE_HEADER };
/** On every created event: what the delivery list shows and filters on (domain/delivery-listing.ts), as JSON. */
export const LISTING_HEADER = "Hookd-Listing";

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

function parseCreated(entry: JournalEntry): StoredCreated {
  return { seq: entry.seq, event: DeliveryCreatedSchema.parse(JSON.parse(decoder.decode(entry.data))) };
}

function createdHeadersOf(created: Uint8Array): Record<string, string> | undefined {
  try {
    const parsed = DeliveryCreatedSchema.safeParse(JSON.parse(decoder.decode(created)));
    return parsed.success ? headersOfCreated(parsed.data) : undefined;
  } catch {
    return undefined;
  }
}

/** The items of an ingest batch, in batch order, unchecked: each is checked where it is used. */
export function batchItems(data: Uint8Array): unknown[] {
  const raw = JSON.parse(decoder.decode(data)) as { deliveries?: unknown };
  if (!Array.isArray(raw.deliveries)) throw new Error("not an ingest batch");
  return raw.deliveries;
}

/** One event with the delivery it led to. */
export type TransitionStep = { event: DeliveryTransition; after: PersistedDelivery };
/** A journal message holds one step, or several made at once (an attempt's start and its outcome). */
type StoredSteps = TransitionStep | { steps: TransitionStep[] };

function stepsOf(entry: { seq: number; data: Uint8Array }): TransitionStep[] {
  const raw = JSON.parse(decoder.decode(entry.data)) as StoredSteps;
  const steps = "steps" in raw ? raw.steps : [raw];
  if (steps.length === 0 || steps.some((step) => !step.after)) {
    throw new Error(`journal entry #${entry.seq} holds no step`);
  }
  return steps;
}

/** The steps of one message on a delivery's transitions subject, their events checked. */
export function transitionStepsOf(entry: { seq: number; data: Uint8Array }): TransitionStep[] {
  return stepsOf(entry).map((step) => ({ event: DeliveryTransitionSchema.parse(step.event), after: step.after }));
}

function parseTransitions(entry: JournalEntry): StoredTransition[] {
  return stepsOf(entry).map((step) => ({
    seq: entry.seq,
    time: entry.time,
    event: DeliveryTransitionSchema.parse(step.event),
    after: step.after,
  }));
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
    // Accepted in a batch that no worker has expanded into the journal yet: read it from the batch.
    const key = batchKeyOf(id);
    if (!key) return null;
    const batch = await this.jsm.direct
      .getMessage(this.layout.streams.ingest, { last_by_subj: this.#subjects.ingestBatch(key) })
      .catch(unavailable);
    if (batch) {
      // The id says where it sits in the batch: read and check that one item, not the whole batch.
      const item = batchItems(batch.data)[batchIndexOf(id) ?? -1];
      const created = DeliveryCreatedSchema.safeParse(item);
      // Not yet in the journal, so no sequence there; 0 says "before anything".
      if (created.success && created.data.data.id === id) return { seq: 0, event: created.data };
    }
    // A worker may have expanded the batch (and removed it) between the two reads: the journal has it now.
    const expanded = await this.journal.readLast(this.#subjects.deliveryCreated(id));
    return expanded ? parseCreated(expanded) : null;
  }

  /** A created event that is written straight to the journal (fan-out's): no ingest batch to look in. */
  async readJournaledCreated(id: string): Promise<StoredCreated | null> {
    const entry = await this.journal.readLast(this.#subjects.deliveryCreated(id));
    return entry ? parseCreated(entry) : null;
  }

  /** Writes a batched delivery's created event into the journal, once: expanding a batch again writes nothing. */
  async expandCreated(created: DeliveryCreated): Promise<void> {
    await this.storeCreatedOnce(created.data.id, encoder.encode(JSON.stringify(created)), headersOfCreated(created));
  }

  /** The same for an already encoded created event (a batch refused as too large, stored item by item). */
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

  async readHead(id: string): Promise<Head | null> {
    const entry = await this.journal.readLast(this.#subjects.deliveryTransitions(id));
    return entry ? { seq: entry.seq, after: stepsOf(entry).at(-1)!.after } : null;
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
  ): Promise<number> {
    if (steps.length === 0) throw new Error("appendTransitions needs at least one step");
    const subject = this.#subjects.deliveryTransitions(id);
    const stored: StoredSteps = steps.length === 1 ? steps[0]! : { steps: [...steps] };
    const result = await this.journal.append(subject, encoder.encode(JSON.stringify(stored)), {
      expectedSeq,
      headers: { [STATE_HEADER]: steps.at(-1)!.after.state, ...transitionHeaders(change.from, steps, change.tags) },
    });
    return result.seq;
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

  /** Puts a delivery back on the work queue (manual retry); the msgID makes a repeated request a no-op. */
  async enqueueWork(id: string, dedupeId: string): Promise<void> {
    try {
      const work = encoder.encode(JSON.stringify({ id }));
      await this.js.publish(this.#subjects.deliveryWork(id), work, { msgID: dedupeId, timeout: 5_000 });
    } catch (error) {
      throw new NatsUnavailableError(error);
    }
  }
}
