import { jetstream, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { facetTokens, type ListingFields } from "../src/domain/delivery-listing.ts";
import type { IndexEntry } from "../src/nats/delivery-index.ts";
import { DeliveryListing } from "../src/nats/delivery-listing.ts";
import { type JournalParts, openJournal } from "./support/delivery-journal.ts";
import { type NatsProcess, startNats } from "./support/processes.ts";

/**
 * How many fetches a page of the list costs when entries above its window are deleted while it is
 * read (deliveries above the cursor changing state: a bulk retry of the failed list while someone
 * pages it). #readWindow asks for the window's count less those deletions plus one, then, once that
 * count is spent, for one message per fetch: each deletion above the window costs a round trip.
 */

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

const fields: ListingFields = {
  target: "http://failing.example/",
  host: "failing.example",
  subscriptionId: null,
  topic: null,
  eventType: null,
  eventId: null,
  createdAt: "2026-12-01T00:00:00.000Z",
};

describe("a page read while entries above it are deleted", () => {
  for (const deleted of [0, 100]) {
    it(`costs a few fetches, not one per deleted entry (${deleted} deleted)`, async () => {
      const { layout, publisher } = journal;
      const subject = layout.subjects.indexEntry("failed", facetTokens(fields));
      const seqs: number[] = [];
      for (let i = 0; i < 700; i++) {
        const entry: IndexEntry = {
          id: `dlv_${String(i).padStart(26, "0")}`,
          state: "failed",
          updatedAt: new Date(Date.UTC(2026, 11, 1, 0, 0, i)).toISOString(),
          journalSeq: i + 1,
          fields,
        };
        seqs.push((await publisher.publish(subject, JSON.stringify(entry))).seq);
      }
      // The page below the newest 200: its cursor is the lowest of those.
      const top = seqs.slice(500);
      let fetches = 0;
      let adds = 0;
      let deletingMs = 0;
      const jsm = new Proxy(journal.jsm, {
        get(target, key) {
          if (key !== "consumers") return Reflect.get(target, key);
          return new Proxy(target.consumers, {
            get(consumers, name) {
              if (name !== "add") return Reflect.get(consumers, name);
              return async (...args: Parameters<JetStreamManager["consumers"]["add"]>) => {
                // Between counting what lies above the window and reading the window, some of those change state.
                const deleting = Date.now();
                if (++adds === 2) {
                  for (const seq of top.slice(0, deleted)) await target.streams.deleteMessage(args[0], seq);
                }
                deletingMs += Date.now() - deleting;
                return consumers.add(...args);
              };
            },
          });
        },
      });
      const realJs = jetstream(nc);
      const js = new Proxy(realJs, {
        get(target, key) {
          if (key !== "consumers") return Reflect.get(target, key);
          return new Proxy(target.consumers, {
            get(consumers, name) {
              if (name !== "get") return Reflect.get(consumers, name);
              return async (...args: Parameters<JetStreamClient["consumers"]["get"]>) => {
                const consumer = await consumers.get(...args);
                return new Proxy(consumer, {
                  get(c, method) {
                    if (method !== "fetch") return Reflect.get(c, method);
                    return (...fetchArgs: unknown[]) => {
                      fetches++;
                      return (c as unknown as { fetch: (...a: unknown[]) => unknown }).fetch(...fetchArgs);
                    };
                  },
                });
              };
            },
          });
        },
      });
      const listing = new DeliveryListing(js, jsm, layout);
      const started = Date.now();
      const page = await listing.page({ host: "failing.example", state: "failed", beforeSeq: top[0]!, limit: 50 });
      const tookMs = Date.now() - started - deletingMs;
      // The page is right: the newest 50 below the cursor.
      expect(page.entries.map((entry) => entry.seq)).toEqual(seqs.slice(450, 500).reverse());
      expect(fetches, `${fetches} fetches in ${tookMs} ms`).toBeLessThanOrEqual(5);
    });
  }
});
