import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { describe, expect, it } from "vitest";
import { batchKeyOf } from "../src/domain/batch-ids.ts";
import { toBase64 } from "../src/domain/bytes.ts";
import type { DeliveryCreated } from "../src/domain/delivery-events.ts";
import { DELIVERY_ID_PREFIX, ulid } from "../src/domain/ids.ts";
import { createLayout } from "../src/nats/layout.ts";
import { capturedLog } from "./support/captured-log.ts";
import { api, eventually, startTestHookd, waitForListed, waitForState } from "./support/hookd.ts";
import { hookdSuite } from "./support/suite.ts";

/**
 * What meets a journal message it cannot read (a newer hookd's, or a damaged one) and is not a request:
 * a worker hands the work back for a minute, so that a newer instance can take it, instead of failing it
 * every second; the indexer leaves that delivery out of the list instead of stalling the list. A work
 * message whose own copy of the created event does not parse is worked from the journal's copy.
 */

const suite = hookdSuite({ hookd: "none", receiver: false, connect: true });

/** A dispatch of "x" to `targetUrl`, accepted by the hookd at `hookdUrl`: its delivery id. */
async function dispatched(hookdUrl: string, targetUrl: string): Promise<string> {
  const response = await api(hookdUrl, `/dispatch?_url=${encodeURIComponent(targetUrl)}`, {
    method: "POST",
    body: "x",
  });
  expect(response.status).toBe(202);
  return ((await response.json()) as { id: string }).id;
}

/** A search for `id` answers 200 without it, and one warning names the message it could not read. */
async function expectSearchLeavesOut(
  hookdUrl: string,
  id: string,
  message: { subject: string; seq: number },
  entries: () => { deliveryId?: string; msg?: string }[],
): Promise<void> {
  const searched = await api(hookdUrl, `/api/v1/deliveries?q=${id}`);
  expect(searched.status).toBe(200);
  expect(((await searched.json()) as { data: unknown[] }).data).toEqual([]);
  const said = entries().filter((entry) => entry.deliveryId === id && /the search leaves it out/.test(entry.msg ?? ""));
  expect(said).toEqual([expect.objectContaining({ level: 40, err: expect.objectContaining(message) })]);
}

describe("a delivery whose journal hookd cannot read", () => {
  it(
    "is handed back for a minute with one warning naming the message, not retried every second, nor searched",
    async () => {
      const { log, entries } = capturedLog("warn");
      const hookd = await startTestHookd(suite.nats.url, { HOOKD_RETRY_SCHEDULE: "8s" }, log);
      try {
        const r = await suite.startReceiver((_request, index) => ({ status: index === 0 ? 503 : 200 }));
        const id = await dispatched(hookd.url, r.url);
        await waitForState(hookd.url, id, "backoff");
        const subject = createLayout().subjects.deliveryTransitions(id);
        const { seq } = await jetstream(suite.nc).publish(subject, '{"steps": [');
        const warnings = () => entries().filter((entry) => /cannot be read/.test(entry.msg));
        // The retry is due 6.4–9.6 s after the failure (jitter); then, recognised, the next try is a minute away.
        await eventually(async () => warnings().length > 0 || undefined, 25_000, "the worker's warning");
        // Not recognised, a failed work item comes back after a second: three seconds hold about three more.
        await new Promise((resolve) => setTimeout(resolve, 3_000));
        expect(r.requests).toHaveLength(1);
        expect(warnings()).toEqual([
          expect.objectContaining({ level: 40, err: expect.objectContaining({ subject, seq }) }),
        ]);
        // Its last message has no state header to read instead: a search for it leaves it out, and says why.
        await expectSearchLeavesOut(hookd.url, id, { subject, seq }, entries);
        expect(entries().filter((entry) => entry.level >= 50)).toEqual([]);
      } finally {
        await hookd.stop();
      }
    },
    60_000,
  );

  it("is left out of the delivery list and its search, and the deliveries after it are listed", async () => {
    const { log, entries } = capturedLog("warn");
    const hookd = await startTestHookd(suite.nats.url, {}, log);
    try {
      // A created event with no listing header (as before the index), damaged: the indexer must read the body.
      const damaged = "dlv_01M94BJX8C6PNTM95EM317T999";
      const subject = createLayout().subjects.deliveryCreated(damaged);
      const { seq } = await jetstream(suite.nc).publish(subject, '{"type": "delivery.cr');
      const r = await suite.startReceiver();
      const id = await dispatched(hookd.url, r.url);
      const page = await waitForListed(hookd.url, "limit=50", [id]);
      expect(page.data.map((row) => row.id)).not.toContain(damaged);
      const warnings = entries().filter((entry) => entry.deliveryId === damaged);
      expect(warnings).toContainEqual(
        expect.objectContaining({ level: 40, msg: expect.stringMatching(/left out of the delivery list/) }),
      );
      // Searched for by its id, it is left out of the results too, and the warning says so.
      await expectSearchLeavesOut(hookd.url, damaged, { subject, seq }, entries);
    } finally {
      await hookd.stop();
    }
  });

  it("is worked from the journal's created event when the work message's own copy does not parse", async () => {
    const { log, entries } = capturedLog("warn");
    const r = await suite.startReceiver();
    const layout = createLayout();
    const id = DELIVERY_ID_PREFIX + ulid(Date.now(), crypto.getRandomValues(new Uint8Array(10)));
    const created: DeliveryCreated = {
      type: "delivery.created",
      at: new Date().toISOString(),
      data: {
        id,
        request: {
          url: r.url,
          method: "POST",
          headers: {},
          body: toBase64(new TextEncoder().encode("from the journal")),
        },
        schedule: [1_000],
        secrets: [],
        source: "dispatch",
        dialect: "plain",
      },
    };
    // An instance without workers lays out the streams; the work stream takes the created event in.
    const layoutOnly = await startTestHookd(suite.nats.url, { HOOKD_WORKERS: "off" }, log);
    const jsm = await jetstreamManager(suite.nc);
    try {
      await jetstream(suite.nc).publish(layout.subjects.deliveryCreated(id), JSON.stringify(created));
      const sourced = layout.subjects.deliveryCreated(id);
      await eventually(
        () => jsm.streams.getMessage(layout.streams.work, { last_by_subj: sourced }).then(() => true, () => undefined),
        10_000,
        "the created event in the work stream",
      );
      // Its only work, then, is a hand-off whose copy of the created event a newer hookd might have written.
      await jsm.streams.purge(layout.streams.work, { filter: sourced });
      await jetstream(suite.nc).publish(
        layout.subjects.deliveryWork(id),
        JSON.stringify({ created: { type: "delivery.created", data: { id, shape: "from a newer hookd" } } }),
      );
    } finally {
      await layoutOnly.stop();
    }
    const hookd = await startTestHookd(suite.nats.url, {}, log);
    try {
      await waitForState(hookd.url, id, "delivered");
      expect(r.requests.map((request) => request.body.toString())).toEqual(["from the journal"]);
      const logged = entries();
      expect(logged).toContainEqual(
        expect.objectContaining({
          level: 40,
          subject: layout.subjects.deliveryWork(id),
          msg: expect.stringMatching(/does not parse/),
        }),
      );
      // No error at all: not for this delivery, nor for the damaged messages the tests before left in the
      // suite's NATS, which this instance meets too (each path warns, record 40).
      expect(logged.filter((entry) => entry.level >= 50)).toEqual([]);
    } finally {
      await hookd.stop();
    }
  });

  it("on a batched delivery's first attempt, is a warning naming the message, not an error", async () => {
    const { log, entries } = capturedLog("warn");
    const r = await suite.startReceiver();
    // Accepted by an instance without workers, so its batch waits in the ingest stream for the next one.
    const accepting = await startTestHookd(suite.nats.url, { HOOKD_WORKERS: "off" }, log);
    let id: string;
    try {
      id = await dispatched(accepting.url, r.url);
    } finally {
      await accepting.stop();
    }
    const subject = createLayout().subjects.deliveryTransitions(id);
    const { seq } = await jetstream(suite.nc).publish(subject, '{"steps": [');
    const hookd = await startTestHookd(suite.nats.url, {}, log);
    try {
      await eventually(
        async () => entries().some((entry) => entry.id === id) || undefined,
        15_000,
        "the first attempt's warning",
      );
      expect(entries().filter((entry) => entry.id === id)).toEqual([
        expect.objectContaining({
          level: 40,
          err: expect.objectContaining({ subject, seq }),
          msg: expect.stringMatching(/cannot be read; the work queue takes it over/),
        }),
      ]);
      expect(entries().filter((entry) => entry.level >= 50)).toEqual([]);
      // Its first attempt went out before anything was journaled (record 26): sent once, its outcome not
      // journaled, it is sent again when an instance that can read its journal takes it (at least once).
      expect(r.requests).toHaveLength(1);
    } finally {
      await hookd.stop();
    }
  });

  it("in an ingest batch no worker has taken yet, is named by the delivery's view", async () => {
    const { log } = capturedLog("warn");
    const r = await suite.startReceiver();
    const accepting = await startTestHookd(suite.nats.url, { HOOKD_WORKERS: "off" }, log);
    try {
      const id = await dispatched(accepting.url, r.url);
      // The batch holding its created event, as a newer hookd might have written it: the view reads it from there.
      const subject = createLayout().subjects.ingestBatch(batchKeyOf(id)!);
      const { seq } = await jetstream(suite.nc).publish(subject, '{"deliveries": {"newer": true}}');
      const view = await api(accepting.url, `/api/v1/deliveries/${id}`);
      expect(view.status).toBe(500);
      expect(await view.json()).toMatchObject({ type: "urn:hookd:problem:unreadable-journal", subject, seq });
    } finally {
      await accepting.stop();
    }
  });
});
