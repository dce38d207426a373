import { ensureStreams } from "../src/nats/ensure-streams.ts";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { beforeAll, describe, expect, it } from "vitest";
import type { DeliveryCreated } from "../src/domain/delivery-events.ts";
import { randomBytes } from "../src/domain/random-pool.ts";
import { DeliveryStore } from "../src/nats/delivery-store.ts";
import { IngestBatcher } from "../src/nats/ingest-batcher.ts";
import { JetStreamPublisher } from "../src/nats/jetstream-publisher.ts";
import { hookdSuite } from "./support/suite.ts";
import { createLayout } from "../src/nats/layout.ts";

const layout = createLayout();

/**
 * The ingest batcher against a real nats-server whose max_payload is small: batches are sized in the
 * bytes NATS counts. No hookd: the batcher is driven directly, on the suite's connection.
 */

const MAX_PAYLOAD = 64 * 1024;
const suite = hookdSuite({ hookd: "none", receiver: false, connect: true, nats: { maxPayloadBytes: MAX_PAYLOAD } });
let store: DeliveryStore;
let batcher: IngestBatcher;

beforeAll(async () => {
  const nc = suite.nc;
  const jsm = await jetstreamManager(nc);
  await ensureStreams(jsm, layout, {
    journalMaxAgeMs: 3_600_000,
    topicMaxAgeMs: 3_600_000,
    idempotencyWindowMs: 120_000,
    ackWaitMs: 30_000,
    maxAckPending: 1_000,
  });
  const publisher = new JetStreamPublisher(nc);
  store = new DeliveryStore(jetstream(nc), jsm, publisher, layout);
  batcher = new IngestBatcher({
    publisher,
    layout,
    clock: Date.now,
    randomBytes,
    maxPayload: () => nc.info?.max_payload ?? MAX_PAYLOAD,
    storeOne: (id, created) => store.storeCreatedOnce(id, created),
  });
});

const created = (header: string) => (id: string, at: number): DeliveryCreated => ({
  type: "delivery.created",
  at: new Date(at).toISOString(),
  data: {
    id,
    request: { url: "http://127.0.0.1:9/x", method: "POST", headers: { "x-note": header }, body: "" },
    schedule: [1000],
    secrets: [],
    source: "api",
  },
});

describe("ingest batches", () => {
  it("count UTF-8 bytes: requests whose text is short but whose bytes are not are split into batches NATS takes", async () => {
    // 8,000 characters each, but 24,000 bytes: five fit one message by characters, not by bytes.
    const header = "漢".repeat(8_000);
    const ids = await Promise.all(Array.from({ length: 5 }, () => batcher.add(created(header))));
    expect(ids.every((id) => typeof id === "string")).toBe(true);
    expect(new Set(ids).size).toBe(5);
    const { state } = await (await jetstreamManager(suite.nc)).streams.info(layout.streams.ingest);
    expect(state.messages).toBeGreaterThanOrEqual(3);
    for (const id of ids) expect((await store.readCreated(id!))?.event.data.request.headers["x-note"]).toBe(header);
  });

  it("hand back an event too large to share a message, for the caller to store on its own", async () => {
    expect(await batcher.add(created("漢".repeat(12_000)))).toBeNull();
  });
});
