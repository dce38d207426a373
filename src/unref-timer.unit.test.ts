import { describe, expect, it } from "vitest";
import { unrefTimer } from "./unref-timer.ts";

describe("unrefTimer", () => {
  it("lets a Node timer run without holding the process open, and hands it back for clearing", () => {
    const timer = setTimeout(() => undefined, 60_000);
    expect(unrefTimer(timer)).toBe(timer);
    expect(timer.hasRef()).toBe(false);
    clearTimeout(timer);
  });

  it("leaves a timer that has no unref (a Deno timer id) as it is", () => {
    expect(unrefTimer(42)).toBe(42);
  });
});
