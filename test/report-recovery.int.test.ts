import { headers as natsHeaders } from "@nats-io/transport-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { attemptResolved, attemptStarted } from "../actors/delivery.attempt-events.ts";
import { applyDeliveryEvent, initialDelivery, persistDelivery } from "../actors/delivery.fold.ts";
import { encodeSecret } from "../src/domain/sign-standard-webhooks.ts";
import { tagsOf } from "../src/nats/delivery-change-headers.ts";
import { DeliveryStore } from "../src/nats/delivery-store.ts";
import { JetStreamPublisher } from "../src/nats/jetstream-publisher.ts";
import { createLayout } from "../src/nats/layout.ts";
import { api, deliveryOf, eventually, startTestHookd } from "./support/hookd.ts";
import { hookdSuite } from "./support/suite.ts";

/**
 * A report survives the worker that journaled its delivery's ending stopping before it made the
 * report (decision record 20): the next worker handed the delivery makes it, and a worker handed it
 * once more makes nothing new. The stopped worker is played by appending its ending to the journal
 * directly, as it would have, with no report and the work left unacknowledged.
 */

const secret = encodeSecret(new Uint8Array(32).fill(4));
const layout = createLayout();
const suite = hookdSuite({ hookd: "none", receiver: false, connect: true });

describe("a report after a worker stopped", () => {
  it("is made by the next worker handed the delivery, and only once", async () => {
    const env = { HOOKD_SIGNING_SECRET: secret };
    // An instance without workers takes the request: nothing attempts it meanwhile.
    const front = await startTestHookd(suite.nats.url, { ...env, HOOKD_WORKERS: "off" });
    const target = await suite.startReceiver();
    const callback = await suite.startReceiver();
    const publisher = new JetStreamPublisher(suite.nc);
    let worker: Awaited<ReturnType<typeof startTestHookd>> | undefined;
    try {
      const response = await api(front.url, "/api/v1/deliveries", {
        method: "POST",
        // A keyed create goes straight to the journal (no ingest batch for a worker to expand first).
        headers: { "content-type": "application/json", "idempotency-key": "report-recovery" },
        body: JSON.stringify({ url: target.url, body: "once", callback_url: callback.url }),
      });
      expect(response.status).toBe(202);
      const { id } = await response.json();
      const store = new DeliveryStore(
        jetstream(suite.nc),
        await jetstreamManager(suite.nc),
        publisher,
        layout,
      );
      const created = (await store.readCreated(id))!.event;
      // The stopped worker was handed the work before it journaled anything: taken here and handed back
      // unacknowledged, as NATS hands it out again once the stopped worker's ack wait is over.
      const work = await jetstream(suite.nc).consumers.get(layout.streams.work, layout.consumers.workers);
      const handedOut = await work.next({ expires: 10_000 });
      expect(handedOut?.subject).toBe(layout.subjects.deliveryCreated(id));
      handedOut!.nak();
      // What the stopped worker journaled: its attempt and the receiver's 200, in one append.
      const before = initialDelivery({ id, maxAttempts: created.data.schedule.length + 1 });
      const started = attemptStarted(before, "stopped-worker", Date.now());
      const inFlight = applyDeliveryEvent(before, started)!;
      const outcome = attemptResolved({
        inFlight,
        request: { method: "POST", url: created.data.request.url, headers: {} },
        report: {
          latencyMs: 3,
          response: { status: 200, headers: { "x-seen": "1" }, body: "ok", bodyTruncated: false },
        },
        schedule: created.data.schedule,
        now: Date.now(),
        random: 0,
      });
      const delivered = applyDeliveryEvent(inFlight, outcome)!;
      await store.appendTransitions(
        id,
        [
          { event: started, after: persistDelivery(inFlight) },
          { event: outcome, after: persistDelivery(delivered) },
        ],
        0,
        { from: "pending", tags: tagsOf(created) },
      );
      expect(callback.requests).toHaveLength(0);

      worker = await startTestHookd(suite.nats.url, env);
      await callback.waitFor(1);
      const report = new Webhook(secret).verify(
        callback.requests[0]!.body.toString(),
        callback.requests[0]!.headers as Record<string, string>,
      ) as Record<string, unknown>;
      expect(report).toMatchObject({ type: "delivery.delivered", delivery_id: id, attempts: 1 });
      // The delivery itself is not sent again: it was delivered.
      expect(target.requests).toHaveLength(0);

      // Handed the delivery once more (a manual requeue), a worker makes no second report.
      await store.enqueueWork(id, `again:${id}`);
      const view = await eventually(async () => {
        const found = await deliveryOf(worker!.url, id);
        return found.reports.length === 1 ? found : undefined;
      });
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(callback.requests).toHaveLength(1);
      expect(view.reports).toEqual([callback.requests[0]!.headers["webhook-id"]]);
      expect((await deliveryOf(worker.url, id)).reports).toHaveLength(1);
    } finally {
      await worker?.stop();
      await front.stop();
      await publisher.close();
    }
  });
});

describe("a subscription's errback after every instance stopped", () => {
  it("is made by the next instance to start, once, for a disabling no running instance saw", async () => {
    const target = await suite.startReceiver();
    const errback = await suite.startReceiver();
    let hookd = await startTestHookd(suite.nats.url);
    let id: string;
    try {
      const created = await api(hookd.url, "/api/v1/subscriptions", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          topic: "recovery/disabled",
          url: target.url,
          dialect: "plain",
          errback_url: errback.url,
        }),
      });
      expect(created.status).toBe(201);
      id = (await created.json()).id;
    } finally {
      await hookd.stop();
    }
    // What the stopped instance journaled: the 410 that disabled the subscription, and nothing more.
    const layout = createLayout();
    const subject = layout.subjects.subscription(id);
    const jsm = await jetstreamManager(suite.nc);
    const last = (await jsm.direct.getMessage(layout.streams.subscriptions, { last_by_subj: subject }))!;
    const entry = JSON.parse(new TextDecoder().decode(last.data));
    const at = new Date().toISOString();
    const reason = "disabled: the receiver answered 410 Gone";
    const disabled = {
      event: { type: "delivery.failed", at, data: { deliveryId: "dlv_01ARZ3NDEKTSV4RRFFQ69G5FAV", gone: true } },
      after: {
        ...entry.after,
        state: "disabled",
        updatedAt: at,
        context: { ...entry.after.context, statusMessage: reason },
      },
    };
    const header = natsHeaders();
    header.set("Hookd-State", "disabled");
    await jetstream(suite.nc).publish(subject, JSON.stringify(disabled), {
      expect: { lastSubjectSequence: last.seq },
      headers: header,
    });
    expect(errback.requests).toHaveLength(0);

    hookd = await startTestHookd(suite.nats.url);
    try {
      await errback.waitFor(1);
      expect(JSON.parse(errback.requests[0]!.body.toString())).toMatchObject({
        type: "subscription.disabled",
        subscription_id: id,
        reason,
        at,
      });
    } finally {
      await hookd.stop();
    }
    // Another start finds it disabled again, and the derived id makes nothing new.
    hookd = await startTestHookd(suite.nats.url);
    try {
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      expect(errback.requests).toHaveLength(1);
    } finally {
      await hookd.stop();
    }
  }, 60_000);
});
