import { describe, expect, it } from "vitest";
import { spawnReady } from "./support/processes.ts";

/**
 * The harness's start of a child that announces itself (test/support/processes.ts): what a bench's
 * cleanup relies on when a child is late. Children are plain `node -e` scripts.
 */

const node = (script: string) => [process.execPath, "-e", script];

describe("spawnReady", () => {
  it("resolves with what the ready line says", async () => {
    const child = await spawnReady({
      what: "a child",
      command: node('console.log("ready 42")'),
      ready: (line) => line,
    });
    expect(child.ready).toBe("ready 42");
    await child.stop();
  });

  it("stops a late child with SIGTERM, lets it clean up, and fails only once it has gone", async () => {
    // It says "ready" as it is being stopped, as a late start finishing under SIGTERM would, then cleans up.
    const script = 'process.on("SIGTERM", () => { console.log("ready"); setTimeout(() => { console.log("cleaned"); ' +
      "process.exit(0); }, 200); }); setInterval(() => {}, 1000);";
    const lines: string[] = [];
    const started = spawnReady({
      what: "a late child",
      command: node(script),
      ready: (line) => (line === "ready" ? true : undefined),
      onLine: (line) => lines.push(line),
      startTimeoutMs: 500,
    });
    await expect(started).rejects.toThrow(/a late child was not ready within 500 ms/);
    expect(lines).toEqual(["ready", "cleaned"]);
  });

  it("says so when the child exits before it is ready", async () => {
    const started = spawnReady({ what: "a child", command: node("process.exit(3)"), ready: () => undefined });
    await expect(started).rejects.toThrow(/a child exited \(3\) before it was ready/);
  });
});
