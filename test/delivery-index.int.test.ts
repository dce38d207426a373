import { DeliverPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DeliveryState } from "../actors/delivery.machine.ts";
import { listingFieldsOf } from "../src/domain/delivery-listing.ts";
import { DELIVERY_ID_PREFIX, ulid } from "../src/domain/ids.ts";
import { createLogger } from "../src/log.ts";
import { type Checkpoint, DeliveryIndex, type IndexEntry } from "../src/nats/delivery-index.ts";
import { DeliveryListing } from "../src/nats/delivery-listing.ts";
import { type DeliveryIndexer, startDeliveryIndexer } from "../src/runtime/delivery-indexer.ts";
import {
  createdEvent,
  eventsTo,
  journalDelivery,
  type JournalParts,
  openJournal,
  stepsFor,
  UNTAGGED,
} from "./support/delivery-journal.ts";
import { eventually } from "./support/hookd.ts";
import { type NatsProcess, startNats } from "./support/processes.ts";
import { applyDeliveryEvent, initialDelivery, restoreDelivery } from "../actors/delivery.fold.ts";
import type { DeliveryTransition } from "../src/domain/delivery-events.ts";

/**
 * The delivery index below the API, on a real nats-server: a journal written through hookd's own
 * store, indexers started and stopped as instances would be, and the index checked entry by entry
 * against the journal: every delivery has exactly one entry, in the state its journal ends in.
 */

const STATES: DeliveryState[] = ["pending", "in-flight", "backoff", "delivered", "failed", "cancelled"];
const log = createLogger("silent");
const encoder = new TextEncoder();
let nats: NatsProcess;
let nc: NatsConnection;
let journal: JournalParts;

beforeAll(async () => {
  nats = await startNats();
  nc = await connect({ servers: nats.url });
  journal = await openJournal(nc);
});

afterAll(async () => {
  journal?.publisher.close();
  await nc?.close();
  await nats?.stop();
});

function newIds(count: number): string[] {
  return Array.from(
    { length: count },
    () => DELIVERY_ID_PREFIX + ulid(Date.now(), crypto.getRandomValues(new Uint8Array(10))),
  );
}

function indexer(owner: string, leaseMs: number, batchSize = 50): DeliveryIndexer {
  const index = new DeliveryIndex(journal.jsm, journal.publisher, journal.layout, async (id) => {
    const created = await journal.store.readJournaledCreated(id);
    return created ? listingFieldsOf(created.event) : null;
  });
  return startDeliveryIndexer({
    js: jetstream(nc),
    index,
    layout: journal.layout,
    log,
    clock: Date.now,
    owner,
    leaseMs,
    batchSize,
  });
}

/**
 * Every entry in HOOKD_INDEX, by delivery id. Read up to the stream's last sequence at the start:
 * an indexer still at work deletes entries meanwhile, so a count taken first may never be reached.
 */
async function entries(): Promise<Map<string, IndexEntry[]>> {
  const jsm = await jetstreamManager(nc);
  const { messages, last_seq: lastSeq } = (await jsm.streams.info(journal.layout.streams.index)).state;
  const byId = new Map<string, IndexEntry[]>();
  if (messages === 0) return byId;
  const consumer = await jetstream(nc).consumers.get(journal.layout.streams.index, {
    deliver_policy: DeliverPolicy.All,
  });
  for (let done = false; !done;) {
    let fetched = 0;
    for await (const message of await consumer.fetch({ max_messages: messages, expires: 2_000 })) {
      fetched++;
      const entry = message.json<IndexEntry>();
      byId.set(entry.id, [...(byId.get(entry.id) ?? []), entry]);
      expect(journal.layout.parseSubject(message.subject)).toEqual({ kind: "index-entry", state: entry.state });
      if (message.seq >= lastSeq || message.info.pending === 0) done = true;
    }
    // Nothing more to hand out: the last entries were deleted before they were read.
    if (fetched === 0) done = true;
  }
  await consumer.delete();
  return byId;
}

/** The indexer's checkpoint, read and written as an instance would. */
function checkpoints(): DeliveryIndex {
  return new DeliveryIndex(journal.jsm, journal.publisher, journal.layout, async () => null);
}

async function journalEnd(): Promise<number> {
  return (await journal.jsm.streams.info(journal.layout.streams.journal)).state.last_seq;
}

/** Waits until the checkpoint says the journal was read through `seq`. */
async function indexedTo(seq: number): Promise<void> {
  await eventually(async () => ((await checkpoints().readCheckpoint())?.value.through ?? 0) >= seq || undefined);
}

/** The state each delivery's journal ends in. */
async function journalStates(ids: readonly string[]): Promise<Map<string, string>> {
  const states = new Map<string, string>();
  for (const id of ids) states.set(id, (await journal.store.readHead(id))?.after.state ?? "pending");
  return states;
}

/** Waits until the index holds exactly one entry per delivery, in the state its journal ends in. */
async function expectIndexMatchesJournal(ids: readonly string[]): Promise<void> {
  const want = await journalStates(ids);
  await eventually(
    async () => {
      const got = await entries();
      return ids.every((id) => got.get(id)?.length === 1 && got.get(id)![0]!.state === want.get(id)) || undefined;
    },
    30_000,
    "the index to match the journal",
  );
  const got = await entries();
  for (const id of ids) {
    expect(got.get(id), id).toHaveLength(1);
    expect(got.get(id)![0]!.state, id).toBe(want.get(id));
  }
}

async function journalMany(ids: readonly string[], url: string): Promise<void> {
  await Promise.all(
    ids.map((id, i) => journalDelivery(journal.store, { id, url, state: STATES[i % STATES.length]!, at: Date.now() })),
  );
}

/** Retries each failed delivery and fails it again: two more transitions on each. */
async function failAgain(ids: readonly string[]): Promise<void> {
  for (const id of ids) {
    const head = await journal.store.readHead(id);
    if (head?.after.state !== "failed") continue;
    const at = new Date().toISOString();
    const retry: DeliveryTransition = { type: "delivery.retry-requested", at, data: {} };
    const before = restoreDelivery(head.after);
    const attempt = applyDeliveryEvent(before, retry)!.context.attempts + 1;
    const steps = stepsFor(before, [
      retry,
      { type: "attempt.started", at, data: { attempt } },
      {
        type: "attempt.failed",
        at,
        data: {
          attempt,
          request: { method: "POST", url: "http://x/", headers: {} },
          latencyMs: 1,
          error: "gone",
          permanent: true,
          retryAt: at,
        },
      },
    ]);
    await journal.store.appendTransitions(id, steps, head.seq, { from: "failed", tags: UNTAGGED });
  }
}

describe("the delivery index", () => {
  it("backfills a journal written before the index existed, from the created events themselves", async () => {
    const ids = newIds(120);
    for (const [i, id] of ids.entries()) {
      // As hookd wrote them before: a created event without the listing header.
      const created = createdEvent({ id, url: `http://old.example/${i}`, state: "pending", at: Date.now() });
      await journal.store.journal.append(
        journal.layout.subjects.deliveryCreated(id),
        encoder.encode(JSON.stringify(created)),
        {
          expectedSeq: 0,
        },
      );
      if (i % 3 === 0) continue;
      const initial = initialDelivery({ id, maxAttempts: 3 });
      const at = new Date().toISOString();
      await journal.store.appendTransitions(
        id,
        stepsFor(initial, [{ type: "delivery.cancel-requested", at, data: {} }]),
        0,
        { from: "pending", tags: UNTAGGED },
      );
    }
    // Clear of the last journal write's millisecond, which the entries' times are cut to.
    await new Promise((resolve) => setTimeout(resolve, 20));
    const written = new Date();
    const running = indexer("backfill", 5_000);
    try {
      await expectIndexMatchesJournal(ids);
      const got = await entries();
      expect(got.get(ids[5]!)![0]!.fields.target).toBe("http://old.example/5");
      expect(got.get(ids[5]!)![0]!.fields.host).toBe("old.example");
      // Times are the journal's, not the backfill's: every entry changed before the indexer ran.
      const listing = new DeliveryListing(jetstream(nc), journal.jsm, journal.layout);
      const page = await listing.page({ host: "old.example", until: written, limit: 100 });
      expect(page.entries).toHaveLength(100);
      expect((await listing.page({ host: "old.example", since: written, limit: 100 })).entries).toEqual([]);
    } finally {
      await running.stop();
    }
  });

  it("stays right across two instances, one of them stopping mid-way, and both leading at once", async () => {
    const ids = newIds(300);
    await journalMany(ids.slice(0, 150), "http://two.example/a");
    // A lease that runs out at once: both instances take it in turn and lead at the same time.
    const a = indexer("instance-a", 1, 20);
    const b = indexer("instance-b", 1, 20);
    try {
      await journalMany(ids.slice(150), "http://two.example/b");
      await failAgain(ids.slice(0, 60));
      // One stops mid-way; the other carries on.
      await a.stop();
      await failAgain(ids.slice(60, 120));
      await expectIndexMatchesJournal(ids);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
    // A new instance reads again from the checkpoint and changes nothing.
    const c = indexer("instance-c", 5_000);
    try {
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      await expectIndexMatchesJournal(ids);
    } finally {
      await c.stop();
    }
  });

  it("an instance that stops hands the index over at once, not after its lease runs out", async () => {
    const checkpoints = new DeliveryIndex(journal.jsm, journal.publisher, journal.layout, async () => null);
    const ownerNow = async () => (await checkpoints.readCheckpoint())?.value.owner;
    // A's short lease lets it take over whatever an earlier test left, and it renews often. B looks every
    // 5 s at a 20 s lease: without the hand-back it would wait until A's last renewal ran out, 17 s or more.
    const a = indexer("handing-a", 3_000);
    let b: DeliveryIndexer | undefined;
    try {
      await eventually(async () => (await ownerNow()) === "handing-a" || undefined, 10_000, "A to lead");
      b = indexer("handing-b", 20_000);
      await a.stop();
      const ids = newIds(30);
      await journalMany(ids, "http://handed.example/");
      await eventually(async () => (await ownerNow()) === "handing-b" || undefined, 10_000, "B to take the index over");
      await expectIndexMatchesJournal(ids);
    } finally {
      await Promise.all([a.stop(), b?.stop()]);
    }
  });

  it("an update on a pointer it remembers, moved since by another instance, still leaves one entry", async () => {
    const fieldsOf = async () => null;
    const a = new DeliveryIndex(journal.jsm, journal.publisher, journal.layout, fieldsOf);
    const b = new DeliveryIndex(journal.jsm, journal.publisher, journal.layout, fieldsOf);
    const [id] = newIds(1) as [string];
    const fields = {
      target: "http://r.test/hook",
      host: "r.test",
      subscriptionId: null,
      topic: null,
      eventType: null,
      eventId: null,
      createdAt: new Date().toISOString(),
    };
    const update = (state: string, journalSeq: number, fresh: boolean) => ({
      id,
      state,
      journalSeq,
      updatedAt: new Date().toISOString(),
      fields: fresh ? fields : null,
      fresh,
    });
    // A writes the pointer and remembers it; B moves it on; A, deciding on what it remembers, loses the
    // compare-and-set, reads B's pointer and applies its newer update on top of it.
    await a.apply(await a.prepare(update("pending", 10, true)));
    await b.apply(await b.prepare(update("in-flight", 20, false)));
    await a.apply(await a.prepare(update("delivered", 30, false)));
    // An update older than what A remembers writes nothing.
    await a.apply(await a.prepare(update("backoff", 25, false)));
    const mine = (await entries()).get(id);
    expect(mine).toHaveLength(1);
    expect(mine![0]).toMatchObject({ state: "delivered", journalSeq: 30, fields });
  });

  it("lists a delivery delivered from the start without a pointer, and its journal answers a search for it", async () => {
    const listing = new DeliveryListing(jetstream(nc), journal.jsm, journal.layout);
    const [batched, separate, later] = newIds(3) as [string, string, string];
    const at = Date.now();
    const url = (id: string) => `http://final.example/${id}`;
    // Delivered in the message that carries its created event, as a batched dispatch's first attempt is.
    const created = createdEvent({ id: batched, url: url(batched), state: "delivered", at });
    await journal.store.appendTransitions(
      batched,
      stepsFor(
        initialDelivery({ id: batched, maxAttempts: 3 }),
        eventsTo({ id: batched, url: "", state: "delivered", at }),
      ),
      0,
      { from: "pending", tags: UNTAGGED },
      created,
    );
    // Created, then delivered: one batch of the indexer reads both.
    await journalDelivery(journal.store, { id: separate, url: url(separate), state: "delivered", at });
    // Listed while pending, so with a pointer; delivered afterwards.
    await journalDelivery(journal.store, { id: later, url: url(later), state: "pending", at });
    const running = indexer("final", 5_000, 500);
    try {
      await expectIndexMatchesJournal([batched, separate, later]);
      expect(await listing.lookup(later)).toMatchObject({ state: "pending" });
      await journal.store.appendTransitions(
        later,
        stepsFor(
          initialDelivery({ id: later, maxAttempts: 3 }),
          eventsTo({ id: later, url: "", state: "delivered", at }),
        ),
        0,
        { from: "pending", tags: UNTAGGED },
      );
      await expectIndexMatchesJournal([batched, separate, later]);
      const got = await entries();
      // Its pointer moved to its delivered entry; the other two never had one.
      expect(await listing.lookup(later)).toEqual(got.get(later)![0]);
      for (const id of [batched, separate]) {
        expect(await listing.lookup(id), id).toBeNull();
        // What a search shows for it, read from its journal, is its entry.
        expect(await journal.store.readListed(id, async () => null), id).toEqual(got.get(id)![0]);
      }
      expect(got.get(batched)![0]).toMatchObject({
        state: "delivered",
        fields: { target: url(batched), host: "final.example" },
      });
      expect(await journal.store.readListed(newIds(1)[0]!, async () => null)).toBeNull();
      // A page bounded below (a subscription's attempts read what was indexed after their first page).
      const listed = (await listing.page({ host: "final.example", limit: 10 })).entries;
      expect(listed.map((entry) => entry.id).sort()).toEqual([batched, separate, later].sort());
      const above = await listing.page({ host: "final.example", limit: 10, afterSeq: listed[1]!.seq });
      expect(above.entries.map((entry) => entry.id)).toEqual([listed[0]!.id]);
    } finally {
      await running.stop();
    }
  });

  /**
   * Lot A indexed and checkpointed; lot B indexed in one batch by an instance that then "crashes":
   * the checkpoint is put back to what covered lot A (as `rewind` changes it), its lease left to run
   * out, and the index's duplicate window closed, as if the next leader came minutes later. Lot B's
   * deliveries in `pending` are delivered meanwhile, so the batch read again holds both messages.
   */
  async function crashAfterIndexing(
    name: string,
    size: number,
    rewind: (covered: Checkpoint) => Checkpoint,
  ): Promise<{ ids: string[]; restore: () => Promise<void> }> {
    const listing = new DeliveryListing(jetstream(nc), journal.jsm, journal.layout);
    const before = newIds(30);
    await journalMany(before, `http://${name}.example/a`);
    const first = indexer(`${name}-a`, 3_000, 40);
    try {
      await indexedTo(await journalEnd());
    } finally {
      await first.stop();
    }
    const covered = (await checkpoints().readCheckpoint())!.value;
    const ids = newIds(size);
    await journalMany(ids, `http://${name}.example/b`);
    const crashed = indexer(`${name}-crashed`, 3_000, 8_000);
    try {
      await indexedTo(await journalEnd());
    } finally {
      await crashed.stop();
    }
    // Delivered from the start: an entry and no pointer, so only reading the entries back keeps them single.
    for (const id of ids.filter((_, i) => STATES[i % STATES.length] === "delivered")) {
      expect(await listing.lookup(id), id).toBeNull();
    }
    const restore = await closeDuplicateWindow();
    const current = await checkpoints().readCheckpoint();
    await checkpoints().writeCheckpoint(
      rewind({ ...covered, owner: `${name}-crashed`, renewedAt: Date.now() - 60_000 }),
      current!.seq,
    );
    for (const id of ids.filter((_, i) => STATES[i % STATES.length] === "pending")) {
      const steps = stepsFor(
        initialDelivery({ id, maxAttempts: 3 }),
        eventsTo({ id, url: "", state: "delivered", at: Date.now() }),
      );
      await journal.store.appendTransitions(id, steps, 0, { from: "pending", tags: UNTAGGED });
    }
    return { ids: [...before, ...ids], restore };
  }

  /** The stream would take the same entries again as duplicates within its window (2 min): close it. */
  async function closeDuplicateWindow(): Promise<() => Promise<void>> {
    const index = journal.layout.streams.index;
    const { duplicate_window: window } = (await journal.jsm.streams.info(index)).config;
    await journal.jsm.streams.update(index, { duplicate_window: 100_000_000 });
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    return async () => void await journal.jsm.streams.update(index, { duplicate_window: window });
  }

  it("a batch read again after its duplicate window by an instance taking over from a crashed one writes nothing twice", async () => {
    const { ids, restore } = await crashAfterIndexing("reread", 60, (checkpoint) => checkpoint);
    const second = indexer("reread-b", 3_000, 500);
    try {
      await indexedTo(await journalEnd());
      await expectIndexMatchesJournal(ids);
    } finally {
      await second.stop();
      await restore();
    }
  });

  it("…and so does one taking over a checkpoint an older hookd wrote, which keeps no index sequence", async () => {
    const { ids, restore } = await crashAfterIndexing("older", 60, ({ indexSeq: _indexSeq, ...older }) => older);
    const second = indexer("older-b", 3_000, 500);
    try {
      await indexedTo(await journalEnd());
      await expectIndexMatchesJournal(ids);
    } finally {
      await second.stop();
      await restore();
    }
  });

  it("…and so does one crashing again part-way through that batch, read again after it", async () => {
    const { ids, restore } = await crashAfterIndexing("twice", 150, (checkpoint) => checkpoint);
    // Lot B's first delivery delivered from the start: its created event comes early in the lot, its outcome
    // about 150 messages later, and the crashed instance listed it by that outcome, with no pointer.
    const straddling = ids.slice(30).find((_, i) => STATES[i % STATES.length] === "delivered")!;
    const createdSeq = (await journal.store.readJournaledCreated(straddling))!.seq;
    const deliveredSeq = (await journal.store.readHead(straddling))!.seq;
    const indexEnd = async () => (await journal.jsm.streams.info(journal.layout.streams.index)).state.last_seq;
    const crashedEnd = await indexEnd();
    // One message a batch, stopped once it has read that created event: it writes the delivery a pending
    // entry of its own, and its checkpoint stays short of the outcome.
    const second = indexer("twice-b", 3_000, 1);
    try {
      await indexedTo(createdSeq);
    } finally {
      await second.stop();
    }
    const partWay = (await checkpoints().readCheckpoint())!;
    expect(partWay.value.through).toBeLessThan(deliveredSeq);
    expect(await indexEnd()).toBeGreaterThan(crashedEnd);
    await checkpoints().writeCheckpoint({ ...partWay.value, renewedAt: Date.now() - 60_000 }, partWay.seq);
    const third = indexer("twice-c", 3_000, 500);
    try {
      await indexedTo(await journalEnd());
      await expectIndexMatchesJournal(ids);
    } finally {
      await third.stop();
      await restore();
    }
  });

  it("an update applied again after its old entry was deleted finishes without an error", async () => {
    const fieldsOf = async () => null;
    const [id] = newIds(1) as [string];
    const fields = {
      target: "http://again.test/hook",
      host: "again.test",
      subscriptionId: null,
      topic: null,
      eventType: null,
      eventId: null,
      createdAt: new Date().toISOString(),
    };
    const update = (state: string, journalSeq: number, fresh: boolean) => ({
      id,
      state,
      journalSeq,
      updatedAt: new Date().toISOString(),
      fields: fresh ? fields : null,
      fresh,
    });
    const a = new DeliveryIndex(journal.jsm, journal.publisher, journal.layout, fieldsOf);
    // An entry before it, so the one deleted lies inside the stream: nats-server answers a second delete
    // of it "sequence N not found", and of a message below the stream's first "no message found".
    const [other] = newIds(1) as [string];
    await a.apply(await a.prepare({ ...update("pending", 5, true), id: other }));
    await a.apply(await a.prepare(update("pending", 10, true)));
    await a.apply(await a.prepare(update("in-flight", 20, false)));
    // A batch read again by another instance: the pointer names the pending entry as the one to delete, deleted already.
    const b = new DeliveryIndex(journal.jsm, journal.publisher, journal.layout, fieldsOf);
    await b.apply(await b.prepare(update("in-flight", 20, false)));
    const mine = (await entries()).get(id);
    expect(mine).toHaveLength(1);
    expect(mine![0]).toMatchObject({ state: "in-flight", journalSeq: 20 });
  });

  it("counts what it lists, and pages through all of it once", async () => {
    const listing = new DeliveryListing(jetstream(nc), journal.jsm, journal.layout);
    const ids = newIds(240);
    await journalMany(ids, "http://count.example/x");
    const running = indexer("counter", 5_000, 500);
    try {
      await expectIndexMatchesJournal(ids);
      const { counts } = await eventually(async () => {
        const read = await listing.counts({ host: "count.example" });
        return read.counts.failed === 40 ? read : undefined;
      });
      expect(counts).toEqual(Object.fromEntries(STATES.map((state) => [state, 40])));
      const seen: string[] = [];
      let before: number | undefined;
      for (;;) {
        const page = await listing.page({ host: "count.example", state: "backoff", limit: 7, beforeSeq: before });
        seen.push(...page.entries.map((entry) => entry.id));
        if (page.nextBefore === null) break;
        before = page.nextBefore;
      }
      expect(seen).toHaveLength(40);
      expect(new Set(seen).size).toBe(40);
      // Entries are stored in the order deliveries changed, so a walk comes newest change first.
      const times: number[] = [];
      for (let page = await listing.page({ host: "count.example", limit: 50 });;) {
        times.push(...page.entries.map((entry) => Date.parse(entry.updatedAt)));
        if (page.nextBefore === null) break;
        page = await listing.page({ host: "count.example", limit: 50, beforeSeq: page.nextBefore });
      }
      expect(times).toHaveLength(240);
      expect([...times].sort((a, b) => b - a)).toEqual(times);
      expect(await listing.lag()).toBe(0);
    } finally {
      await running.stop();
    }
  });
});
