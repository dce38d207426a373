import { jetstreamManager } from "@nats-io/jetstream";
import { describe, expect, it } from "vitest";
import { api, deliveryOf, eventually, startTestHookd } from "./support/hookd.ts";
import { hookdSuite } from "./support/suite.ts";
import { createLayout } from "../src/nats/layout.ts";

const layout = createLayout();

/**
 * Group commit: dispatches accepted together share one JetStream message until a worker expands them
 * into the journal. The suite's hookd only ingests (workers off); each test starts a worker when it is time.
 */

const suite = hookdSuite({ env: { HOOKD_WORKERS: "off" }, connect: true });

async function dispatch(base: string, body: string): Promise<string> {
  const response = await api(base, `/dispatch?_url=${encodeURIComponent(suite.receiver.url + "/batched")}`, {
    method: "POST",
    body,
    headers: { "content-type": "text/plain" },
  });
  expect(response.status).toBe(202);
  return ((await response.json()) as { id: string }).id;
}

describe("group commit at ingest", () => {
  it("stores concurrent dispatches together, each readable at once, and delivers each exactly as sent once a worker runs", async () => {
    const jsm = await jetstreamManager(suite.nc);
    const ids = await Promise.all(Array.from({ length: 200 }, (_, i) => dispatch(suite.hookd.url, `n=${i}`)));
    expect(new Set(ids).size).toBe(200);
    const { state } = await jsm.streams.info(layout.streams.ingest);
    // Fewer messages than dispatches: requests that arrived together were committed together.
    expect(state.messages).toBeGreaterThan(0);
    expect(state.messages).toBeLessThan(200);

    // No worker has expanded them yet, and each is already there to inspect.
    const view = await deliveryOf(suite.hookd.url, ids[17]!);
    expect(view.state).toBe("pending");
    expect(JSON.stringify(view.target)).toContain(`${suite.receiver.url}/batched`);

    const worker = await startTestHookd(suite.nats.url);
    try {
      await suite.receiver.waitFor(200);
      const bodies = suite.receiver.requests.map((request) => request.body.toString()).sort();
      expect(bodies).toEqual(Array.from({ length: 200 }, (_, i) => `n=${i}`).sort());
      await eventually(
        async () => (await jsm.streams.info(layout.streams.ingest)).state.messages === 0 || undefined,
        10_000,
        "the batches to be expanded and removed",
      );
      expect((await deliveryOf(worker.url, ids[17]!)).state).toBe("delivered");
    } finally {
      await worker.stop();
    }
  });

  it("a batch expanded twice (a worker died after writing it) delivers nothing twice", async () => {
    const jsm = await jetstreamManager(suite.nc);
    const id = await dispatch(suite.hookd.url, "once");
    const key = id.slice("dlv_".length, "dlv_".length + 22);
    const stored = await jsm.direct.getMessage(layout.streams.ingest, {
      last_by_subj: layout.subjects.ingestBatch(key),
    });
    expect(stored).not.toBeNull();
    // The same batch again, as a redelivery after a crash would hand it over.
    await suite.nc.request(layout.subjects.ingestBatch(key), stored!.data);
    const worker = await startTestHookd(suite.nats.url);
    try {
      await eventually(
        async () => suite.receiver.requests.some((request) => request.body.toString() === "once") || undefined,
        10_000,
        "the delivery",
      );
      await eventually(
        async () => (await jsm.streams.info(layout.streams.ingest)).state.messages === 0 || undefined,
        10_000,
        "both copies to be expanded",
      );
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(suite.receiver.requests.filter((request) => request.body.toString() === "once")).toHaveLength(1);
      expect((await deliveryOf(worker.url, id)).history).toHaveLength(3);
      const journal = await jsm.streams.info(layout.streams.journal, {
        subjects_filter: layout.subjects.deliveryCreated(id),
      });
      expect(journal.state.subjects).toEqual({ [layout.subjects.deliveryCreated(id)]: 1 });
    } finally {
      await worker.stop();
    }
  });
});
