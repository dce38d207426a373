import { describe, expect, it } from "vitest";
import { OriginGate } from "./origin-gate.ts";

const gate = (limit: number, maxWaiting: number, maxWaitMs: number) =>
  new OriginGate({ limit, maxWaiting, maxWaitMs, now: () => performance.now() });

describe("OriginGate", () => {
  it("lets `limit` attempts in per origin, and sends the rest back while the origin's speed is unknown", async () => {
    const g = gate(2, 10, 10_000);
    const a = await g.enter("https://a");
    const b = await g.enter("https://a");
    expect([typeof a, typeof b]).toEqual(["function", "function"]);
    expect(await g.enter("https://a")).toBeNull();
    // Other origins are not held up by a busy one.
    expect(await g.enter("https://b")).not.toBeNull();
  });

  it("queues attempts to a fast origin in order, up to maxWaiting", async () => {
    const g = gate(1, 2, 10_000);
    (await g.enter("fast"))!(); // one quick attempt makes the origin known as fast
    const first = (await g.enter("fast"))!;
    const order: string[] = [];
    const second = g.enter("fast").then((release) => (order.push("second"), release));
    const third = g.enter("fast").then((release) => (order.push("third"), release));
    expect(await g.enter("fast")).toBeNull();
    first();
    first(); // releasing twice frees one slot only
    (await second)!();
    (await third)!();
    expect(order).toEqual(["second", "third"]);
  });

  it("gives up on a wait that outlasts maxWaitMs", async () => {
    const g = gate(1, 10, 50);
    (await g.enter("o"))!();
    const held = (await g.enter("o"))!;
    const started = performance.now();
    expect(await g.enter("o")).toBeNull();
    expect(performance.now() - started).toBeGreaterThanOrEqual(45);
    held();
  });

  it("sends attempts to an origin that answers slowly straight back", async () => {
    let clock = 0;
    const g = new OriginGate({ limit: 2, maxWaiting: 10, maxWaitMs: 250, now: () => clock });
    const a = (await g.enter("o"))!;
    const b = (await g.enter("o"))!;
    clock += 5_000;
    a(); // o takes 5 s per attempt
    const c = (await g.enter("o"))!;
    const started = performance.now();
    expect(await g.enter("o")).toBeNull();
    expect(performance.now() - started).toBeLessThan(20);
    b();
    c();
  });

  it("stops queuing behind an origin that was fast but has stopped finishing attempts", async () => {
    let clock = 0;
    const g = new OriginGate({ limit: 1, maxWaiting: 10, maxWaitMs: 250, now: () => clock });
    (await g.enter("o"))!(); // fast: 0 ms
    const stuck = (await g.enter("o"))!;
    clock += 100; // nothing finished for 100 ms: more than a quarter of the wait
    const started = performance.now();
    expect(await g.enter("o")).toBeNull();
    expect(performance.now() - started).toBeLessThan(20);
    stuck();
  });
});

describe("OriginGate's wait", () => {
  it("lasts as long as the queue ahead takes at the origin's pace, for an origin under fastMs", async () => {
    let clock = 0;
    const g = new OriginGate({ limit: 1, maxWaiting: 3, maxWaitMs: 10, fastMs: 1_000, now: () => clock });
    const first = (await g.enter("o"))!;
    clock += 30;
    first(); // o takes 30 ms: well under fastMs, and four rounds of it outlast maxWaitMs
    const held = (await g.enter("o"))!;
    const waiting = g.enter("o");
    await new Promise((resolve) => setTimeout(resolve, 60));
    held();
    expect(typeof (await waiting)).toBe("function");
  });
});
