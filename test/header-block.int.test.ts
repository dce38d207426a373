import { jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JetStreamPublisher, JetStreamPublishError } from "../src/nats/jetstream-publisher.ts";
import { type NatsProcess, startNats } from "./support/processes.ts";

/**
 * hookd hands nats.js its own header block (src/nats/header-block.ts), relying on nats.js's publish to
 * read nothing of it but its bytes: JetStream must see each header, the dedupe id and the expected sequence.
 */

let nats: NatsProcess;
let nc: NatsConnection;

beforeAll(async () => {
  nats = await startNats();
  nc = await connect({ servers: nats.url });
  await (await jetstreamManager(nc)).streams.add({ name: "HEADERS", subjects: ["headers.>"] });
});
afterAll(async () => {
  await nc?.close();
  await nats?.stop();
});

describe("publishing with hookd's header block", () => {
  it("stores each header, dedupes by Nats-Msg-Id and refuses a wrong expected sequence", async () => {
    const publisher = new JetStreamPublisher(nc);
    try {
      const headers = { "Hookd-State": "delivered", "Hookd-Target": "hooks.example.test" };
      const first = await publisher.publish("headers.a", "one", {
        headers,
        msgID: "m-1",
        expectedLastSubjectSequence: 0,
      });
      const stored = await (await jetstreamManager(nc)).streams.getMessage("HEADERS", { seq: first.seq });
      expect(stored?.header.get("Hookd-State")).toBe("delivered");
      expect(stored?.header.get("Hookd-Target")).toBe("hooks.example.test");
      expect(stored?.string()).toBe("one");
      const again = await publisher.publish("headers.a", "one", { headers, msgID: "m-1" });
      expect(again).toEqual({ stream: "HEADERS", seq: first.seq, duplicate: true });
      const stale = publisher.publish("headers.a", "two", { headers, expectedLastSubjectSequence: 0 });
      await expect(stale).rejects.toSatisfy((error) =>
        error instanceof JetStreamPublishError && error.errCode === 10071
      );
      const plain = await publisher.publish("headers.b", "no headers");
      expect((await (await jetstreamManager(nc)).streams.getMessage("HEADERS", { seq: plain.seq }))?.header.keys())
        .toEqual([]);
    } finally {
      publisher.close();
    }
  });
});
