import { DeliverPolicy, jetstream, jetstreamManager, type JsMsg } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JetStreamPublisher } from "../src/nats/jetstream-publisher.ts";
import { headerBlockOf, receivedHeaders } from "../src/nats/received-headers.ts";
import { type NatsProcess, startNats } from "./support/processes.ts";

/**
 * hookd's indexer reads the headers of journal messages from their header block
 * (src/nats/received-headers.ts), through fields of nats.js's messages that its types do not name:
 * what it reads must be what nats.js's own `headers.get` reads, and it must be reading the block, not
 * falling back, so that a nats.js that keeps the block elsewhere fails here.
 */

let nats: NatsProcess;
let nc: NatsConnection;

beforeAll(async () => {
  nats = await startNats();
  nc = await connect({ servers: nats.url });
  await (await jetstreamManager(nc)).streams.add({ name: "RECEIVED", subjects: ["received.>"] });
});
afterAll(async () => {
  await nc?.close();
  await nats?.stop();
});

/** Every message of the stream, by an ordered consumer: headers only, as the indexer reads the journal, or whole. */
async function readAll(count: number, headersOnly = true): Promise<JsMsg[]> {
  const consumer = await jetstream(nc).consumers.get("RECEIVED", {
    deliver_policy: DeliverPolicy.All,
    headers_only: headersOnly,
  });
  const messages: JsMsg[] = [];
  for await (const message of await consumer.fetch({ max_messages: count, expires: 2_000 })) messages.push(message);
  return messages;
}

describe("reading a received message's headers", () => {
  it("reads each header as nats.js does, from the header block", async () => {
    const publisher = new JetStreamPublisher(nc);
    // A longer name first: a reading that matched a name's start alone would answer its value.
    const headers = {
      "Hookd-State-Before": "in-flight",
      "Hookd-State": "delivered",
      "X-Hookd-From": "pending",
      "Hookd-Listing": '{"host":"hooks.example.test:8443","topic":"a/b","type":"order.created"}',
      "Hookd-Padded": "  kept without the spaces around it  ",
      "Hookd-Empty": "",
    };
    try {
      await publisher.publish("received.one", "body", { headers });
      await publisher.publish("received.two", "no headers");
    } finally {
      publisher.close();
    }
    const [withHeaders, without] = await readAll(2);
    const names = [...Object.keys(headers), "Hookd-From", "hookd-state", "Hookd-Missing", "Nats-Msg-Size"];
    const read = receivedHeaders(withHeaders!);
    for (const name of names) expect([name, read.get(name)]).toEqual([name, withHeaders!.headers?.get(name) ?? ""]);
    expect(read.get("Hookd-State")).toBe("delivered");
    expect(read.get("Hookd-Listing")).toBe(headers["Hookd-Listing"]);
    expect(read.get("Hookd-Padded")).toBe("kept without the spaces around it");
    expect(headerBlockOf(withHeaders!)).toMatch(/^NATS\/1\.0\r\n/);

    // Where nats.js keeps no block where expected, its own reading answers.
    const elsewhere = { headers: withHeaders!.headers } as unknown as JsMsg;
    expect(headerBlockOf(elsewhere)).toBeNull();
    expect(receivedHeaders(elsewhere).get("Hookd-State")).toBe("delivered");

    // Headers only, the server adds Nats-Msg-Size, so even the message published without headers has a block.
    expect(headerBlockOf(without!)).not.toBeNull();
    for (const name of names) expect(receivedHeaders(without!).get(name)).toBe(without!.headers?.get(name) ?? "");

    // Read whole, the block is followed by the body, and a message published without headers has none.
    const [whole, bare] = await readAll(2, false);
    expect(whole!.string()).toBe("body");
    for (const name of names) expect(receivedHeaders(whole!).get(name)).toBe(whole!.headers?.get(name) ?? "");
    expect(headerBlockOf(whole!)).not.toContain("body");
    expect(headerBlockOf(bare!)).toBe("");
    expect(receivedHeaders(bare!).get("Hookd-State")).toBe("");
  });
});
