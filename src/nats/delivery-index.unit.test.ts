import { describe, expect, it } from "vitest";
import type { JetStreamManager } from "@nats-io/jetstream";
import { facetToken, facetTokens, type ListingFields } from "../domain/delivery-listing.ts";
import { DeliveryIndex, FINAL_STATES, type IndexUpdate } from "./delivery-index.ts";
import type { JetStreamPublisher } from "./jetstream-publisher.ts";
import { createLayout } from "./layout.ts";

/**
 * The indexer applies a chunk of updates in one turn (delivery-indexer.ts applyBatch) and relies on
 * each apply handing its entry's publish to the publisher before it first waits, so the entries are
 * stored in journal order, which `since` and `until` rely on (record 22). A keyed delivery's first
 * update must keep that: its entry goes out in its place, not after the others' entries.
 */

const layout = createLayout();

function recordingPublisher() {
  const published: string[] = [];
  let seq = 0;
  const publisher = {
    publish(subject: string) {
      published.push(subject);
      const ack = { seq: ++seq, duplicate: false };
      // An ack comes back a round trip later.
      return new Promise((resolve) => setTimeout(() => resolve(ack), 5));
    },
  } as unknown as JetStreamPublisher;
  return { publisher, published };
}

const fields = (host: string, key?: string): ListingFields => ({
  target: `http://${host}/`,
  host,
  subscriptionId: null,
  topic: null,
  eventType: null,
  eventId: null,
  createdAt: "2026-12-01T00:00:00.000Z",
  ...(key === undefined ? {} : { idempotencyKey: key }),
});

const fresh = (id: string, journalSeq: number): IndexUpdate => ({
  id,
  state: "pending",
  journalSeq,
  updatedAt: new Date(1_000 + journalSeq).toISOString(),
  fields: null,
  fresh: true,
});

describe("DeliveryIndex.apply", () => {
  it("publishes unkeyed deliveries' entries in journal order (the order applyBatch relies on)", async () => {
    const { publisher, published } = recordingPublisher();
    const index = new DeliveryIndex({} as JetStreamManager, publisher, layout, async () => null);
    const first = { update: fresh("dlv_A", 10), pointer: null, fields: fields("a.example") };
    const second = { update: fresh("dlv_B", 11), pointer: null, fields: fields("b.example") };
    await Promise.all([index.apply(first), index.apply(second)]);
    const entries = published.filter((subject) => subject.startsWith(layout.subjects.indexEntry("pending", [])));
    const entryOf = (host: string) => layout.subjects.indexEntry("pending", facetTokens(fields(host)));
    expect(entries).toEqual([entryOf("a.example"), entryOf("b.example")]);
  });

  it("publishes a keyed delivery's entry in journal order among the entries applied in the same turn", async () => {
    const { publisher, published } = recordingPublisher();
    const index = new DeliveryIndex({} as JetStreamManager, publisher, layout, async () => null);
    const keyed = { update: fresh("dlv_A", 10), pointer: null, fields: fields("a.example", "order-1") };
    const plain = { update: fresh("dlv_B", 11), pointer: null, fields: fields("b.example") };
    // As applyBatch does: every apply of the chunk started in one turn, in journal order.
    await Promise.all([index.apply(keyed), index.apply(plain)]);
    const entries = published.filter((subject) => subject.startsWith(layout.subjects.indexEntry("pending", [])));
    const entryOf = (host: string) => layout.subjects.indexEntry("pending", facetTokens(fields(host)));
    expect(entries).toEqual([entryOf("a.example"), entryOf("b.example")]);
  });

  it("gives a delivery delivered from the start its entry and its key's pointer, no pointer of its own, in order", async () => {
    const { publisher, published } = recordingPublisher();
    const index = new DeliveryIndex({} as JetStreamManager, publisher, layout, async () => null);
    const delivered = { ...fresh("dlv_A", 10), state: "delivered" };
    const first = { update: delivered, pointer: null, fields: fields("a.example", "order-1") };
    const second = { update: fresh("dlv_B", 11), pointer: null, fields: fields("b.example") };
    await Promise.all([index.apply(first), index.apply(second)]);
    expect(published).toEqual([
      layout.subjects.indexEntry("delivered", facetTokens(fields("a.example", "order-1"))),
      layout.subjects.indexedKey(facetToken("order-1")),
      layout.subjects.indexEntry("pending", facetTokens(fields("b.example"))),
      layout.subjects.indexedDelivery("dlv_B"),
    ]);
    expect(index.highestEntrySeq).toBe(3);
  });

  it("takes the delivery machine's final states as those an entry never leaves: delivered alone", () => {
    expect([...FINAL_STATES]).toEqual(["delivered"]);
  });
});
