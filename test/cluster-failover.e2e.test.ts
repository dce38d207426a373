import { describe, expect, it } from "vitest";
import { type ClusterFigures, runClusterChaos } from "../bench/cluster/run.ts";
import { fmt } from "../bench/support/figures.ts";

/**
 * NATS nodes lost under load (bench/cluster/run.ts, short): a three-node cluster with every hookd
 * stream on three replicas, two hookd instances on different nodes, a load generator posting to
 * both. Fails on an accepted delivery that never arrives, a 5xx other than 503 with Retry-After,
 * an answer that never comes, a crash, or an instance left without NATS while two nodes run;
 * never on a timing. The longest gap in 202s is printed, not asserted.
 */

function report(figures: ClusterFigures): void {
  const other = [...figures.load.other].map(([status, n]) => `${status}×${n}`).join(" ") || "0";
  console.log(
    [
      `${figures.scenario}: ${figures.events.join("; ")}`,
      `  accepted ${fmt(figures.load.accepted.size)}, delivered ${fmt(figures.delivered)}, lost ${
        fmt(figures.lost)
      }, ` +
      `duplicated ${fmt(figures.duplicated)}, delivered without a 202 ${fmt(figures.unannounced)}`,
      `  503 + Retry-After ${fmt(figures.load.unavailable)}, other 5xx ${fmt(figures.load.serverErrors)}, ` +
      `other statuses ${other}, no answer ${fmt(figures.load.noAnswer)}`,
      `  longest gap without a 202: ${fmt(figures.load.longestGapMs / 1000, 1)} s; drain ${
        fmt(figures.drainMs / 1000, 1)
      } s`,
    ].join("\n"),
  );
}

function expectNothingLost(figures: ClusterFigures): void {
  expect(figures.load.accepted.size).toBeGreaterThan(0);
  expect(figures.lost, "accepted deliveries that never arrived").toBe(0);
  expect(figures.load.serverErrors, figures.load.samples.join(" | ")).toBe(0);
  expect([...figures.load.other], figures.load.samples.join(" | ")).toEqual([]);
  // hookd answers while NATS elects a leader (503 once its publish gets no answer), never leaves a client hanging.
  expect(figures.load.noAnswer).toBe(0);
  expect(figures.crashes).toEqual([]);
  // nats.js learned the other nodes from the one in NATS_URL and moved to them.
  expect(figures.reconnected.every(Boolean), `reconnected: ${figures.reconnected}`).toBe(true);
}

describe("a three-node NATS cluster, R3 streams, under load", () => {
  it(
    "the node leading the ingest stream is SIGKILLed and comes back with an empty store: every 202 is delivered",
    async () => {
      const figures = await runClusterChaos("node-death", {
        workers: 4,
        warmSeconds: 3,
        downSeconds: 6,
        afterSeconds: 3,
        drainSeconds: 120,
        // A machine lost for good: only the other two replicas still hold what it stored.
        loseStore: true,
      });
      report(figures);
      expectNothingLost(figures);
      expect(figures.events[0]).toMatch(/^SIGKILL n\d \(leads HOOKD_INGEST/);
    },
    300_000,
  );

  it("a rolling restart of the three nodes loses nothing accepted", async () => {
    const figures = await runClusterChaos("rolling-restart", {
      workers: 4,
      warmSeconds: 2,
      downSeconds: 3,
      afterSeconds: 2,
      drainSeconds: 120,
    });
    report(figures);
    expectNothingLost(figures);
    expect(figures.events).toHaveLength(3);
  }, 400_000);
});
