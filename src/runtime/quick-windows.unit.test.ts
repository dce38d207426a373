import { describe, expect, it } from "vitest";
import { QuickWindows } from "./quick-windows.ts";

describe("quick windows", () => {
  it("closes an open window when asked, and answers once its start is journaled", async () => {
    const windows = new QuickWindows();
    const window = windows.open("dlv_a");
    let asked = false;
    void window.asked.then(() => (asked = true));
    let answered: boolean | undefined;
    const asking = windows.ask("dlv_a").then((held) => (answered = held));
    await Promise.resolve();
    await Promise.resolve();
    expect(asked).toBe(true);
    expect(answered).toBeUndefined();
    window.done();
    await asking;
    expect(answered).toBe(true);
    expect(windows.size).toBe(0);
  });

  it("answers false at once for a delivery with no window open here", async () => {
    const windows = new QuickWindows();
    windows.open("dlv_a").done();
    expect(await windows.ask("dlv_a")).toBe(false);
    expect(await windows.ask("dlv_b")).toBe(false);
  });

  it("leaves a later window of the same delivery open when an earlier one is done again", async () => {
    const windows = new QuickWindows();
    const earlier = windows.open("dlv_a");
    earlier.done();
    const later = windows.open("dlv_a");
    earlier.done();
    expect(windows.size).toBe(1);
    const asking = windows.ask("dlv_a");
    later.done();
    expect(await asking).toBe(true);
  });

  it("closes every window open for a delivery, and answers once each has journaled its start", async () => {
    const windows = new QuickWindows();
    const first = windows.open("dlv_a");
    const second = windows.open("dlv_a");
    const asked: string[] = [];
    void first.asked.then(() => asked.push("first"));
    void second.asked.then(() => asked.push("second"));
    let answered = false;
    const asking = windows.ask("dlv_a").then(() => (answered = true));
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(asked.sort()).toEqual(["first", "second"]);
    first.done();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(answered).toBe(false);
    second.done();
    await asking;
    expect(windows.size).toBe(0);
  });
});
