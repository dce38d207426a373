import { describe, expect, it } from "vitest";
import { Places } from "./places.ts";

describe("Places", () => {
  it("lets `count` holders in at once and the rest in the order they asked, as places are given back", async () => {
    const places = new Places(2);
    const first = await places.take();
    const second = await places.take();
    const order: string[] = [];
    const third = places.take().then((give) => (order.push("third"), give));
    const fourth = places.take().then((give) => (order.push("fourth"), give));
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(order).toEqual([]);
    first();
    first(); // giving a place back twice frees it once
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(order).toEqual(["third"]);
    second();
    (await third)();
    (await fourth)();
    expect(order).toEqual(["third", "fourth"]);
    // All given back: two are free again at once.
    await places.take();
    await places.take();
  });

  it("tells how many places are held as that changes", async () => {
    const told: number[] = [];
    const places = new Places(1, (held) => told.push(held));
    const first = await places.take();
    const second = places.take();
    first();
    (await second)();
    expect(told).toEqual([1, 0]);
  });

  it("refuses a count that is not a positive integer", () => {
    expect(() => new Places(0)).toThrow(/positive integer/);
    expect(() => new Places(1.5)).toThrow(/positive integer/);
  });
});
