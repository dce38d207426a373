import { describe, expect, it } from "vitest";
import {
  alternatingRounds,
  type Contender,
  cpuPerJob,
  type Drain,
  median,
  ratioLine,
  roundOrder,
  roundRatios,
} from "../bench/dispatch/alternating-rounds.ts";

/** bench:dispatch's delivery rounds: the order they drain in, and the ratios a reader compares. */

const drained = (perSecond: number, cpuMs: Record<string, number> = {}): Drain => ({ perSecond, cpuMs });

describe("alternating delivery rounds", () => {
  it("puts each contender first, second and third once in three rounds", () => {
    const orders = [0, 1, 2].map(roundOrder);
    for (const position of [0, 1, 2]) {
      expect(new Set(orders.map((order) => order[position]))).toEqual(new Set(["hookd", "BullMQ", "floor"]));
    }
    expect(roundOrder(3)).toEqual(roundOrder(0));
  });

  it("runs the drains one at a time in each round's order and reports each round as it ends", async () => {
    const calls: string[] = [];
    const drain = (name: Contender, rate: number) => async () => {
      calls.push(`${name} start`);
      await new Promise((resolve) => setTimeout(resolve, 1));
      calls.push(`${name} end`);
      return drained(rate);
    };
    const seen: number[] = [];
    const rounds = await alternatingRounds(2, {
      hookd: drain("hookd", 100),
      BullMQ: drain("BullMQ", 200),
      floor: drain("floor", 300),
    }, (_round, index) => seen.push(index));
    expect(calls).toEqual([
      "hookd start",
      "hookd end",
      "BullMQ start",
      "BullMQ end",
      "floor start",
      "floor end",
      "BullMQ start",
      "BullMQ end",
      "floor start",
      "floor end",
      "hookd start",
      "hookd end",
    ]);
    expect(seen).toEqual([0, 1]);
    expect(roundRatios(rounds, "hookd", "BullMQ")).toEqual([0.5, 0.5]);
  });

  it("takes each ratio within one round and leaves out a round where either side was skipped", () => {
    const rounds = [
      { hookd: drained(100), BullMQ: drained(400), floor: drained(200) },
      { hookd: drained(300), BullMQ: { skipped: "Redis does not answer" }, floor: drained(300) },
      { hookd: drained(150), BullMQ: drained(200), floor: drained(100) },
    ];
    expect(roundRatios(rounds, "hookd", "BullMQ")).toEqual([0.25, 0.75]);
    expect(roundRatios(rounds, "hookd", "floor")).toEqual([0.5, 1, 1.5]);
  });

  it("prints each round's ratio in order with their median, and a dash when there is none", () => {
    expect(ratioLine([0.62, 0.48, 0.51])).toBe("0.62, 0.48, 0.51 (median 0.51)");
    expect(ratioLine([])).toBe("–");
  });

  it("takes the mean of the two middle ratios when a skipped round leaves an even count", () => {
    expect(ratioLine([0.6, 0.4])).toBe("0.60, 0.40 (median 0.50)");
    expect(median([0.9, 0.1, 0.5, 0.3])).toBeCloseTo(0.4);
  });

  it("sorts by value, not as text, and leaves the ratios in their rounds' order", () => {
    const ratios = [10, 9, 2];
    expect(median(ratios)).toBe(9);
    expect(ratios).toEqual([10, 9, 2]);
  });

  it("sums the CPU per job of every process, and has no figure when one could not be read", () => {
    expect(cpuPerJob(drained(1, { hookd: 0.25, "nats-server": 0.1, receiver: 0.05 }))).toBeCloseTo(0.4);
    // A BullMQ sum without redis-server would flatter BullMQ's side of the ratio.
    expect(cpuPerJob(drained(1, { "BullMQ worker": 0.1, "redis-server": NaN, receiver: 0.03 }))).toBeNaN();
    expect(cpuPerJob(drained(1, {}))).toBeNaN();
    expect(cpuPerJob({ skipped: "no Redis" })).toBeNaN();
  });
});
