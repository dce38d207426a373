import { afterEach, describe, expect, it } from "vitest";
import { adminToken, api, deliveryOf, eventually, spawnTestHookd } from "./support/hookd.ts";
import type { HookdProcess } from "./support/processes.ts";
import type { Receiver } from "./support/receiver.ts";
import { openSse, type SseClient } from "./support/stream-clients.ts";
import { hookdSuite } from "./support/suite.ts";

/**
 * A bulk job outlives its instance: two hookd processes on one nats-server, a bulk retry started on
 * the first, the first SIGKILLed once the job has journaled some progress, and the second takes the
 * job over and finishes it, retrying every delivery exactly once (record 25). HOOKD_BULK_RATE keeps
 * the job running for seconds, so the kill lands while it runs, inside a chunk: some deliveries are
 * retried and not yet journaled as progress, which the new runner must find and skip.
 */

const suite = hookdSuite({ hookd: "none", receiver: false, connect: true });
const DELIVERIES = 120;
/** A batch of 8 a second: a chunk of 40 takes 5 s, and the job 15 s. */
const RATE = "8";
const children: HookdProcess[] = [];
let sse: SseClient | undefined;

// Each test's instances go with it: a live instance of an earlier test could take over a later test's job.
afterEach(async () => {
  sse?.close();
  await Promise.all(children.splice(0).map((child) => child.stop()));
});

type Job = {
  id: string;
  state: string;
  total: number;
  done: number;
  failed: number;
  cursor: number;
  instance: string;
  taken_over: boolean;
  takeovers: { from: string; instance: string; at: string; cursor: number }[];
  created_at: string;
  updated_at: string;
};

async function jobOf(base: string, id: string): Promise<Job> {
  const response = await api(base, `/api/v1/bulk/${id}`);
  if (!response.ok) throw new Error(`GET bulk job ${id}: ${response.status}`);
  return (await response.json()) as Job;
}

/** `count` deliveries to `receiver` created on `base`, once the index lists them all failed; their ids. */
async function failedDeliveries(base: string, receiver: Receiver, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const created = await api(base, "/api/v1/deliveries", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ url: `${receiver.url}/d/${i}`, body: `x${i}` }),
    });
    ids.push(((await created.json()) as { id: string }).id);
  }
  await eventually(
    async () => {
      const counts = await (await api(base, `/api/v1/deliveries/counts?host=${hostOf(receiver)}`)).json();
      return (counts as { counts: { failed: number } }).counts.failed === count;
    },
    60_000,
    `the index to list the ${count} failed deliveries`,
  );
  return ids;
}

const hostOf = (receiver: Receiver) => `127.0.0.1:${receiver.port}`;

async function startRetry(base: string, receiver: Receiver): Promise<Job> {
  const started = await api(base, "/api/v1/deliveries/bulk", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ action: "retry", filter: { state: "failed", target_host: hostOf(receiver) } }),
  });
  expect(started.status).toBe(202);
  return (await started.json()) as Job;
}

/**
 * Waits for every delivery to fail again after the job's retry, checks that each was retried once,
 * by job `jobId`, and attempted twice; answers when each retry was journaled (epoch ms).
 */
async function retriedOnce(base: string, receiver: Receiver, ids: string[], jobId: string): Promise<number[]> {
  await receiver.waitFor(2 * ids.length, 60_000);
  const views = await eventually(
    async () => {
      const all = await Promise.all(ids.map((id) => deliveryOf(base, id)));
      const waiting = all.filter((view) => view.state !== "failed" || view.attempts.length !== 2);
      if (waiting.length > 0) throw new Error(`${waiting.length} not failed twice, e.g. ${JSON.stringify(waiting[0])}`);
      return all;
    },
    60_000,
    "every retried delivery to fail again",
  );
  return views.map((view) => {
    const retries = view.history.filter((entry: { type: string }) => entry.type === "delivery.retry-requested");
    expect(retries.map((entry: { data: { bulk_job?: string } }) => entry.data.bulk_job), view.id).toEqual([jobId]);
    return Date.parse(retries[0].at);
  });
}

/** Requests the receiver got per path (one path per delivery). */
function requestsPerPath(receiver: Receiver): number[] {
  const perPath = new Map<string, number>();
  for (const request of receiver.requests) perPath.set(request.path, (perPath.get(request.path) ?? 0) + 1);
  return [...perPath.values()];
}

describe("a bulk job whose instance dies", () => {
  it("is taken over by the other instance, which finishes it without retrying any delivery twice", async () => {
    // 410 fails a delivery for good at once: a delivery retried twice would show a third request here.
    const receiver = await suite.startReceiver(() => ({ status: 410, body: "gone" }));
    const env = { NATS_URL: suite.nats.url, HOOKD_BULK_RATE: RATE };
    // The first instance makes no attempts itself: a SIGKILL mid-attempt would have the queue make that attempt
    // again (at-least-once, test/redelivery.e2e.test.ts), and this test counts what the bulk job did.
    const a = await spawnTestHookd({ ...env, HOOKD_INSTANCE_ID: "hookd-a", HOOKD_WORKERS: "off" });
    children.push(a);
    const b = await spawnTestHookd({ ...env, HOOKD_INSTANCE_ID: "hookd-b" });
    children.push(b);

    const ids = await failedDeliveries(a.url, receiver, DELIVERIES);
    expect(receiver.requests).toHaveLength(DELIVERIES);

    const job = await startRetry(a.url, receiver);
    expect(job).toMatchObject({ total: DELIVERIES, instance: "hookd-a", taken_over: false });

    // Followed on the instance that survives: the same stream goes on across the takeover.
    sse = openSse(`${b.url}/api/v1/bulk/${job.id}/events`, await adminToken(), { names: ["bulk-job"] });
    await sse.opened;

    // Killed once a delivery past the first chunk was retried (its second attempt reached the receiver): the
    // first chunk is journaled, and the second is in hand, its next progress write 4 s away.
    await receiver.waitFor(DELIVERIES + 41, 60_000);
    await a.kill("SIGKILL");
    const before = await jobOf(b.url, job.id);
    expect(before.cursor).toBeGreaterThanOrEqual(40);
    expect(before.cursor).toBeLessThan(DELIVERIES);
    expect(before.instance).toBe("hookd-a");

    const after = await eventually(
      async () => {
        const seen = await jobOf(b.url, job.id);
        return seen.state === "done" ? seen : undefined;
      },
      90_000,
      "the other instance to finish the job",
    );
    expect(after).toMatchObject({
      total: DELIVERIES,
      done: DELIVERIES,
      failed: 0,
      cursor: DELIVERIES,
      instance: "hookd-b",
      taken_over: true,
    });
    expect(after.takeovers).toHaveLength(1);
    expect(after.takeovers[0]).toMatchObject({ from: "hookd-a", instance: "hookd-b" });
    expect(after.takeovers[0]!.cursor).toBeGreaterThanOrEqual(before.cursor);
    expect(after.takeovers[0]!.cursor % 40).toBe(0);

    // Every delivery was retried once: one retry in its journal, by this job, and two attempts.
    const retriedAt = await retriedOnce(b.url, receiver, ids, job.id);
    const takenAt = Date.parse(after.takeovers[0]!.at);
    const retriedBefore = retriedAt.filter((at) => at < takenAt).length;
    // The dead runner retried more than its journaled cursor says: those were found and skipped, not retried again.
    expect(retriedBefore).toBeGreaterThan(after.takeovers[0]!.cursor);
    // Failed deliveries make no more attempts: what the receiver has now is all it gets.
    expect(requestsPerPath(receiver)).toEqual(ids.map(() => 2));

    // The stream on the surviving instance showed the job before and after the takeover, up to its end.
    const shown = sse.events.map((event) => JSON.parse(event.data) as Job);
    expect(shown.some((seen) => seen.instance === "hookd-a" && seen.state === "running")).toBe(true);
    expect(shown.some((seen) => seen.instance === "hookd-b" && seen.taken_over)).toBe(true);
    const firstEnd = shown.findIndex((seen) => seen.state !== "running");
    expect(shown[firstEnd]).toMatchObject({ state: "done", done: DELIVERIES, taken_over: true });
    const cursors = shown.slice(0, firstEnd + 1).map((seen) => seen.cursor);
    expect(cursors).toEqual([...cursors].sort((x, y) => x - y));
  }, 240_000);

  it("is not taken over while its instance is alive, though a chunk takes longer than the lease", async () => {
    const receiver = await suite.startReceiver(() => ({ status: 410, body: "gone" }));
    const env = { NATS_URL: suite.nats.url, HOOKD_BULK_RATE: "2" };
    const c = await spawnTestHookd({ ...env, HOOKD_INSTANCE_ID: "hookd-c" });
    children.push(c);
    const d = await spawnTestHookd({ ...env, HOOKD_INSTANCE_ID: "hookd-d" });
    children.push(d);
    // 40 deliveries at 2 a second: one chunk, its last 8 started after 16 s, with no progress written in
    // between, only renewals; without them the other instance would take the job over after 10 to 12.5 s.
    const ids = await failedDeliveries(c.url, receiver, 40);
    const job = await startRetry(c.url, receiver);
    const after = await eventually(
      async () => {
        const seen = await jobOf(d.url, job.id);
        return seen.state === "done" ? seen : undefined;
      },
      90_000,
      "the job to finish",
    );
    expect(after).toMatchObject({ done: 40, failed: 0, instance: "hookd-c", taken_over: false, takeovers: [] });
    expect(Date.parse(after.updated_at) - Date.parse(after.created_at)).toBeGreaterThan(16_000);
    await retriedOnce(d.url, receiver, ids, job.id);
    expect(requestsPerPath(receiver)).toEqual(ids.map(() => 2));
  }, 240_000);

  it("is handed on when its instance is stopped (SIGTERM): the other one goes on from what was journaled", async () => {
    const receiver = await suite.startReceiver(() => ({ status: 410, body: "gone" }));
    const env = { NATS_URL: suite.nats.url, HOOKD_BULK_RATE: "8" };
    const g = await spawnTestHookd({ ...env, HOOKD_INSTANCE_ID: "hookd-g", HOOKD_WORKERS: "off" });
    children.push(g);
    const h = await spawnTestHookd({ ...env, HOOKD_INSTANCE_ID: "hookd-h" });
    children.push(h);
    const ids = await failedDeliveries(g.url, receiver, 60);
    const job = await startRetry(g.url, receiver);
    await receiver.waitFor(61, 30_000);
    // A stop journals the deliveries in hand as progress and leaves the job unfinished, for another instance.
    await g.stop();
    const left = await jobOf(h.url, job.id);
    expect(left).toMatchObject({ state: "running", instance: "hookd-g" });
    expect(left.cursor).toBeGreaterThan(0);
    expect(left.cursor).toBeLessThan(60);
    const after = await eventually(
      async () => {
        const seen = await jobOf(h.url, job.id);
        return seen.state === "done" ? seen : undefined;
      },
      60_000,
      "the other instance to finish the job",
    );
    expect(after).toMatchObject({ done: 60, instance: "hookd-h", taken_over: true });
    expect(after.takeovers).toEqual([expect.objectContaining({ from: "hookd-g", cursor: left.cursor })]);
    await retriedOnce(h.url, receiver, ids, job.id);
  }, 240_000);

  it("is closed as cancelled, not taken over, when its cancel was asked for after its instance died", async () => {
    const receiver = await suite.startReceiver(() => ({ status: 410, body: "gone" }));
    const env = { NATS_URL: suite.nats.url, HOOKD_BULK_RATE: "2" };
    const e = await spawnTestHookd({ ...env, HOOKD_INSTANCE_ID: "hookd-e", HOOKD_WORKERS: "off" });
    children.push(e);
    const f = await spawnTestHookd({ ...env, HOOKD_INSTANCE_ID: "hookd-f" });
    children.push(f);
    const ids = await failedDeliveries(e.url, receiver, 20);
    const job = await startRetry(e.url, receiver);
    // Killed once its first deliveries were retried.
    await receiver.waitFor(21, 30_000);
    await e.kill("SIGKILL");
    const killedAt = Date.now();
    const cancelling = await api(f.url, `/api/v1/bulk/${job.id}`, { method: "DELETE" });
    expect(await cancelling.json()).toMatchObject({ state: "running", cancel_requested: true });
    const after = await eventually(
      async () => {
        const seen = await jobOf(f.url, job.id);
        return seen.state === "running" ? undefined : seen;
      },
      60_000,
      "the job to be closed",
    );
    expect(after).toMatchObject({ state: "cancelled", instance: "hookd-e", taken_over: false, takeovers: [] });
    // Every retry in the deliveries' journals was the dead runner's, made before the kill.
    const views = await Promise.all(ids.map((id) => deliveryOf(f.url, id)));
    const retries = views.flatMap((view) =>
      view.history.filter((entry: { type: string }) => entry.type === "delivery.retry-requested")
    );
    expect(retries.length).toBeGreaterThan(0);
    expect(retries.every((entry: { at: string }) => Date.parse(entry.at) < killedAt)).toBe(true);
  }, 240_000);
});
