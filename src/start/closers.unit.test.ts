import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger } from "../log.ts";
import { Closers } from "./closers.ts";

function capturedLog() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { log: createLogger("info", sink), lines };
}

describe("Closers", () => {
  it("closes newest first, and goes on past a part that fails", async () => {
    const { log, lines } = capturedLog();
    const closed: string[] = [];
    const closers = new Closers();
    closers.push("first", () => closed.push("first"));
    closers.push("failing", () => Promise.reject(new Error("boom")));
    closers.push("last", () => closed.push("last"));
    await closers.unwind(log);
    expect(closed).toEqual(["last", "first"]);
    expect(lines.join("")).toContain('"part":"failing"');
  });

  it("goes on past a part that does not stop in time, and names it", async () => {
    const { log, lines } = capturedLog();
    const closed: string[] = [];
    const closers = new Closers(50);
    closers.push("first", () => closed.push("first"));
    closers.push("hanging", () => new Promise(() => undefined));
    await closers.unwind(log);
    expect(closed).toEqual(["first"]);
    const line = lines.find((text) => text.includes("did not stop in time"));
    expect(line).toContain('"part":"hanging"');
  });
});
