import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { watchJournal } from "../src/nats/journal-watch.ts";
import { eventually } from "./support/hookd.ts";
import { type NatsProcess, startNats } from "./support/processes.ts";

/** A live page's NATS consumer goes when the page's stream stops, not at the client's five-minute inactivity threshold. */

let nats: NatsProcess;
let nc: NatsConnection;

beforeAll(async () => {
  nats = await startNats();
  nc = await connect({ servers: nats.url });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: "WATCHED", subjects: ["watched.>"] });
});
afterAll(async () => {
  await nc?.close();
  await nats?.stop();
});

describe("watchJournal", () => {
  it("hands over new messages on its subject and deletes its consumer when stopped", async () => {
    const js = jetstream(nc);
    const jsm = await jetstreamManager(nc);
    const seen: number[] = [];
    const watch = await watchJournal(js, "WATCHED", { filter: "watched.a", afterSeq: 0 }, (change) => {
      seen.push(change.seq);
    }, () => {});
    await js.publish("watched.b", "other");
    const { seq } = await js.publish("watched.a", "mine");
    await eventually(async () => (seen.includes(seq) ? true : undefined), 5_000, "the message on its subject");
    expect(seen).toEqual([seq]);
    expect((await jsm.streams.info("WATCHED")).state.consumer_count).toBe(1);
    watch.stop();
    await eventually(
      async () => ((await jsm.streams.info("WATCHED")).state.consumer_count === 0 ? true : undefined),
      5_000,
      "the consumer deleted",
    );
  });
});
