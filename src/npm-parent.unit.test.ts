import { describe, expect, it } from "vitest";
import { stopWhenNpmExits } from "./npm-parent.ts";

/** The watch that stops hookd when the npm (or npx) that started it is gone, with a parent pid the test sets. */

const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("stopping when npm exits", () => {
  it("stops once, when the parent changes", async () => {
    let parent = 1234;
    let stops = 0;
    stopWhenNpmExits({ npm_lifecycle_event: "npx" }, () => parent, () => stops++, 5);
    await settle(30);
    expect(stops).toBe(0);
    parent = 1;
    await settle(30);
    parent = 77;
    await settle(30);
    expect(stops).toBe(1);
  });

  it("does not watch when npm did not start hookd (nohup, a supervisor)", async () => {
    let parent = 1234;
    let stops = 0;
    stopWhenNpmExits({}, () => parent, () => stops++, 5);
    parent = 1;
    await settle(30);
    expect(stops).toBe(0);
  });

  it("stops watching when told", async () => {
    let parent = 1234;
    let stops = 0;
    const unwatch = stopWhenNpmExits({ npm_lifecycle_event: "start" }, () => parent, () => stops++, 5);
    unwatch();
    parent = 1;
    await settle(30);
    expect(stops).toBe(0);
  });
});
