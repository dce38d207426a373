import { describe, expect, it } from "vitest";
import { type BulkJob, newBulkJob } from "../domain/bulk-jobs.ts";
import type { Logger } from "../log.ts";
import type { BulkJobStore, StoredJob } from "../nats/bulk-job-store.ts";
import { NatsUnavailableError } from "../nats/journal.ts";
import { BulkJobRun } from "./bulk-job-run.ts";

/**
 * HOOKD_BULK_RATE is documented as "the most deliveries a second one bulk action acts on". With the
 * clock held still (no time passes on hookd's clock), a job paced at 1 a second may act on one
 * delivery, not on a whole group of CONCURRENCY at once.
 */

const silent = { info() {}, warn() {}, error() {}, debug() {} } as unknown as Logger;

function memoryStore(first: StoredJob) {
  let current = first;
  return {
    get current() {
      return current;
    },
    read: async () => current,
    write: async (job: BulkJob, expectedSeq: number) => {
      if (expectedSeq !== current.seq) throw new Error(`unexpected seq ${expectedSeq}`);
      current = { job, seq: current.seq + 1 };
      return current.seq;
    },
  } as unknown as BulkJobStore;
}

describe("BulkJobRun pacing", () => {
  it("acts on no more deliveries in the first second than HOOKD_BULK_RATE allows", async () => {
    const ids = Array.from({ length: 40 }, (_, i) => `dlv_${String(i).padStart(26, "0")}`);
    const job = newBulkJob(
      { id: "bulk_TEST", action: "retry", filter: {}, instance: "a", runner: "a:1", total: ids.length, id_pages: 1 },
      0,
    );
    const acted: string[] = [];
    let stopping = false;
    const run = new BulkJobRun(
      {
        store: memoryStore({ job, seq: 1 }),
        deliveries: {
          retry: async (id: string) => {
            acted.push(id);
            return "pending";
          },
          cancel: async () => "cancelled",
        },
        runner: "a:1",
        // hookd's clock stands still: the job is always within its first second.
        clock: () => 0,
        leaseMs: 1_000_000_000,
        chunk: 40,
        concurrency: 8,
        rate: 1,
        stopping: () => stopping,
        log: silent,
      },
      { job, seq: 1 },
      0,
    );
    const running = run.run(ids, false);
    // Let it act on what it will in its first second; it then naps, waiting for the clock.
    await new Promise((resolve) => setTimeout(resolve, 600));
    stopping = true;
    await running;
    expect(acted.length).toBeLessThanOrEqual(1);
  });
});

describe("BulkJobRun and NATS going away", () => {
  it("does not move its cursor past deliveries it could not act on because NATS was unavailable", async () => {
    // The delivery journal's stream is electing a leader (503s) while HOOKD_JOBS answers: the
    // retries fail for a reason that is not the delivery's, and no one acts on them later.
    const ids = Array.from({ length: 8 }, (_, i) => `dlv_${String(i).padStart(26, "0")}`);
    const job = newBulkJob(
      { id: "bulk_TEST", action: "retry", filter: {}, instance: "a", runner: "a:1", total: ids.length, id_pages: 1 },
      0,
    );
    const store = memoryStore({ job, seq: 1 });
    const run = new BulkJobRun(
      {
        store,
        deliveries: {
          retry: async () => {
            throw new NatsUnavailableError(new Error("503"));
          },
          cancel: async () => "cancelled",
        },
        runner: "a:1",
        clock: () => 0,
        leaseMs: 1_000_000_000,
        chunk: 40,
        concurrency: 8,
        rate: 0,
        stopping: () => false,
        log: silent,
      },
      { job, seq: 1 },
      0,
    );
    await run.run(ids, false).catch(() => undefined);
    const after = (store as unknown as { current: StoredJob }).current.job;
    // Either the job is left for a runner to go on with (cursor still 0), or it is not closed as done.
    expect(after.cursor === 0 || after.state !== "done").toBe(true);
  });
});
