import { describe, expect, it } from "vitest";
import { OriginGate } from "./origin-gate.ts";

describe("OriginGate", () => {
  it("lets `limit` attempts in per origin, queues more in order, and refuses past the queue", async () => {
    const gate = new OriginGate(2, 2, 10_000);
    const a = await gate.enter("https://a");
    const b = await gate.enter("https://a");
    expect([typeof a, typeof b]).toEqual(["function", "function"]);
    const order: string[] = [];
    const third = gate.enter("https://a").then((release) => (order.push("third"), release));
    const fourth = gate.enter("https://a").then((release) => (order.push("fourth"), release));
    expect(await gate.enter("https://a")).toBeNull();
    // Other origins are not held up by a busy one.
    expect(await gate.enter("https://b")).not.toBeNull();
    a!();
    a!(); // releasing twice frees one slot only
    const thirdRelease = await third;
    expect(order).toEqual(["third"]);
    b!();
    await fourth;
    expect(order).toEqual(["third", "fourth"]);
    thirdRelease!();
  });

  it("gives up on a wait that outlasts maxWaitMs, and the origin frees once everything is released", async () => {
    const gate = new OriginGate(1, 10, 50);
    const release = (await gate.enter("o"))!;
    const started = Date.now();
    expect(await gate.enter("o")).toBeNull();
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    release();
    const again = await gate.enter("o");
    expect(again).not.toBeNull();
    again!();
  });
});
