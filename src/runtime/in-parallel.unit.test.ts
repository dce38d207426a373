import { describe, expect, it } from "vitest";
import { eachInParallel } from "./in-parallel.ts";

describe("eachInParallel", () => {
  it("runs every item once with its index, never more than `lanes` at once", async () => {
    const items = Array.from({ length: 25 }, (_, i) => `item${i}`);
    const seen: string[] = [];
    let running = 0;
    let most = 0;
    await eachInParallel(items, 4, async (item, index) => {
      running++;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, index % 3));
      seen.push(`${index}:${item}`);
      running--;
    });
    expect(seen.sort()).toEqual(items.map((item, i) => `${i}:${item}`).sort());
    expect(most).toBe(4);
  });

  it("rejects with an item's error, and does nothing for no items", async () => {
    await expect(eachInParallel([1, 2, 3], 2, async (n) => {
      if (n === 2) throw new Error("two");
    })).rejects.toThrow("two");
    let called = false;
    await eachInParallel([], 8, async () => void (called = true));
    expect(called).toBe(false);
  });
});
