import { afterAll, describe, expect, it } from "vitest";
import { adminToken, api, deliveryOf, eventually, spawnTestHookd } from "./support/hookd.ts";
import type { HookdProcess } from "./support/processes.ts";
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

afterAll(async () => {
  sse?.close();
  await Promise.all(children.map((child) => child.stop()));
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
};

async function jobOf(base: string, id: string): Promise<Job> {
  const response = await api(base, `/api/v1/bulk/${id}`);
  if (!response.ok) throw new Error(`GET bulk job ${id}: ${response.status}`);
  return (await response.json()) as Job;
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

    const ids: string[] = [];
    for (let i = 0; i < DELIVERIES; i++) {
      const created = await api(a.url, "/api/v1/deliveries", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ url: `${receiver.url}/d/${i}`, body: `x${i}` }),
      });
      ids.push(((await created.json()) as { id: string }).id);
    }
    const host = `127.0.0.1:${receiver.port}`;
    await eventually(
      async () => {
        const counts = await (await api(b.url, `/api/v1/deliveries/counts?host=${host}`)).json();
        return (counts as { counts: { failed: number } }).counts.failed === DELIVERIES;
      },
      60_000,
      `the index to list the ${DELIVERIES} failed deliveries`,
    );
    expect(receiver.requests).toHaveLength(DELIVERIES);

    const started = await api(a.url, "/api/v1/deliveries/bulk", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ action: "retry", filter: { state: "failed", target_host: host } }),
    });
    expect(started.status).toBe(202);
    const job = (await started.json()) as Job;
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
    await receiver.waitFor(2 * DELIVERIES, 60_000);
    const views = await eventually(
      async () => {
        const all = await Promise.all(ids.map((id) => deliveryOf(b.url, id)));
        const waiting = all.filter((view) => view.state !== "failed" || view.attempts.length !== 2);
        if (waiting.length > 0) {
          throw new Error(`${waiting.length} not failed twice, e.g. ${JSON.stringify(waiting[0])}`);
        }
        return all;
      },
      60_000,
      "every retried delivery to fail again",
    );
    const takenAt = Date.parse(after.takeovers[0]!.at);
    let retriedBefore = 0;
    for (const view of views) {
      const retries = view.history.filter((entry: { type: string }) => entry.type === "delivery.retry-requested");
      expect(retries.map((entry: { data: { bulk_job?: string } }) => entry.data.bulk_job), view.id).toEqual([job.id]);
      if (Date.parse(retries[0].at) < takenAt) retriedBefore++;
    }
    // The dead runner retried more than its journaled cursor says: those were found and skipped, not retried again.
    expect(retriedBefore).toBeGreaterThan(after.takeovers[0]!.cursor);
    // Failed deliveries make no more attempts: what the receiver has now is all it gets.
    const perPath = new Map<string, number>();
    for (const request of receiver.requests) perPath.set(request.path, (perPath.get(request.path) ?? 0) + 1);
    expect(perPath.size).toBe(DELIVERIES);
    expect([...perPath.values()].every((count) => count === 2)).toBe(true);

    // The stream on the surviving instance showed the job before and after the takeover, up to its end.
    const shown = sse.events.map((event) => JSON.parse(event.data) as Job);
    expect(shown.some((seen) => seen.instance === "hookd-a" && seen.state === "running")).toBe(true);
    expect(shown.some((seen) => seen.instance === "hookd-b" && seen.taken_over)).toBe(true);
    const firstEnd = shown.findIndex((seen) => seen.state !== "running");
    expect(shown[firstEnd]).toMatchObject({ state: "done", done: DELIVERIES, taken_over: true });
    const cursors = shown.slice(0, firstEnd + 1).map((seen) => seen.cursor);
    expect(cursors).toEqual([...cursors].sort((x, y) => x - y));
  }, 240_000);
});
