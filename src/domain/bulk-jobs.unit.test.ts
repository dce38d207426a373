import { describe, expect, it } from "vitest";
import {
  type BulkJob,
  BulkJobSchema,
  bulkJobView,
  cancelRequested,
  finished,
  inDoubt,
  newBulkJob,
  paceWaitMs,
  progressed,
  renewed,
  takenOver,
  takeoverStep,
} from "./bulk-jobs.ts";

const T0 = Date.parse("2026-12-02T03:00:00.000Z");
const LEASE = 10_000;

function job(overrides: Partial<BulkJob> = {}): BulkJob {
  const spec = {
    id: "bulk_01J9Z3QK8Y2M4N6P8R0T2V4X6Z",
    action: "retry" as const,
    filter: { state: "failed" },
    instance: "a",
    runner: "a:0f0f0f0f",
    total: 100,
    id_pages: 1,
  };
  return { ...newBulkJob(spec, T0), ...overrides };
}

describe("taking over a bulk job", () => {
  it("waits while the record moved within the lease, whoever runs it", () => {
    expect(takeoverStep(job(), 0, LEASE)).toBe("wait");
    expect(takeoverStep(job(), LEASE - 1, LEASE)).toBe("wait");
  });

  it("takes over an unfinished job whose record stayed still for a whole lease", () => {
    expect(takeoverStep(job({ cursor: 40 }), LEASE, LEASE)).toBe("take-over");
  });

  it("never takes over a job whose cancel was asked for: it is closed as cancelled", () => {
    const cancelled = cancelRequested(job({ cursor: 40 }), T0 + 1_000);
    expect(takeoverStep(cancelled, LEASE * 10, LEASE)).toBe("close-cancelled");
  });

  it("leaves finished jobs alone, however old", () => {
    for (const end of ["done", "cancelled", "failed"] as const) {
      expect(takeoverStep(finished(job(), end, T0), LEASE * 100, LEASE)).toBe("none");
    }
  });

  it("gives up a job with no journaled list of deliveries (an older hookd's), unless nothing was left", () => {
    const old = BulkJobSchema.parse({ ...job(), runner: undefined, cursor: undefined, id_pages: undefined });
    expect(old.id_pages).toBe(0);
    expect(takeoverStep(old, LEASE, LEASE)).toBe("give-up");
    expect(takeoverStep({ ...old, total: 0 }, LEASE, LEASE)).toBe("take-over");
  });

  it("records who took it over from whom, at which cursor, and the new runner", () => {
    const claimed = takenOver(job({ cursor: 80 }), { instance: "b", runner: "b:12345678" }, T0 + 30_000);
    expect(claimed).toMatchObject({ instance: "b", runner: "b:12345678", cursor: 80 });
    expect(claimed.takeovers).toEqual([{ from: "a", instance: "b", at: "2026-12-02T03:00:30.000Z", cursor: 80 }]);
    const again = takenOver(claimed, { instance: "c", runner: "c:1" }, T0 + 60_000);
    expect(again.takeovers.map((t) => `${t.from}->${t.instance}`)).toEqual(["a->b", "b->c"]);
    expect(bulkJobView(again, T0 + 60_000, 60_000)).toMatchObject({ taken_over: true, instance: "c" });
    expect(bulkJobView(job(), T0, 60_000)).toMatchObject({ taken_over: false });
    expect(bulkJobView(again, T0, 60_000)).not.toHaveProperty("runner");
  });

  it("doubts only the chunk after the cursor: a runner journals each chunk before the next", () => {
    expect(inDoubt(80, 40, 100)).toEqual({ from: 80, to: 100 });
    expect(inDoubt(0, 40, 100)).toEqual({ from: 0, to: 40 });
    expect(inDoubt(100, 40, 100)).toEqual({ from: 100, to: 100 });
  });
});

describe("a running job's record", () => {
  it("moves its cursor by every delivery acted on, failed or not", () => {
    const next = progressed(job(), [
      { deliveryId: "dlv_1", error: null },
      { deliveryId: "dlv_2", error: "refused" },
    ], T0 + 1_000);
    expect(next).toMatchObject({ cursor: 2, done: 1, failed: 1 });
  });

  it("reads interrupted only when neither progress nor a renewal came within the stale time", () => {
    const renewedLater = renewed(job(), T0 + 50_000);
    expect(bulkJobView(renewedLater, T0 + 100_000, 60_000).state).toBe("running");
    expect(bulkJobView(renewedLater, T0 + 111_000, 60_000).state).toBe("interrupted");
  });

  it("paces a run to the rate, from when it started", () => {
    expect(paceWaitMs(0, 20, 0)).toBe(0);
    expect(paceWaitMs(40, 20, 1_500)).toBe(500);
    expect(paceWaitMs(40, 20, 3_000)).toBe(0);
    expect(paceWaitMs(1_000, 0, 0)).toBe(0);
  });
});
