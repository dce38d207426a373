import { type ChildProcess, spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { assign, promisePattern } from "./support/doc-scripts.ts";
import { section, shellBlocks } from "./support/markdown.ts";
import { freePort, type HookdProcess, spawnHookd } from "./support/processes.ts";

/**
 * The curl examples of the proxy form, inline mode, reports, /verify and ordered delivery (issue
 * 13), run as written, in one shell, after the README quick start's block that sets HOOKD_URL and
 * RECEIVER, starts the demo receiver and takes the token. hookd runs as `npm start` runs it (its own
 * nats-server) with the quick start's HOOKD_ALLOWED_NETWORKS; only the two addresses change, as in
 * readme-quick-start.e2e.test.ts. A comment `# → …`, `# the receiver prints: …` or `# then: …`, and
 * in a curl -i example a status line or a header line, is a promise, checked against the output.
 */

const root = resolve(import.meta.dirname, "..");

const SECTIONS: [file: string, titles: string[]][] = [
  ["docs/deliveries.md", [
    "The proxy form (Hookah)",
    "Inline mode (Prefer: wait)",
    "Reports: callbacks and errbacks",
    "Verifying a delivery (POST /verify)",
  ]],
  ["docs/subscriptions.md", ["Ordered delivery", "Reports"]],
];

/** What the comments promise, `…` standing for anything; ids are examples (`dlv_01K…` is any delivery id). */
function promises(script: string): RegExp[] {
  const result: RegExp[] = [];
  for (const line of script.split("\n")) {
    const said = /#\s*(?:→|the \w+ prints:|then:)\s*(.+)$/.exec(line)?.[1] ??
      /^\s*#\s+(HTTP\/1\.1 .+|[a-z]+-[a-z-]+: .+)$/.exec(line)?.[1];
    if (!said) continue;
    for (const part of said.trim().split(/\s{2,}/)) {
      result.push(promisePattern(part.replace(/\b(dlv|evt|sub)_[0-9A-Z]*…/g, "$1_…")));
    }
  }
  return result;
}

let hookd: HookdProcess | undefined;
let user: ChildProcess | undefined;

afterAll(async () => {
  if (user?.pid !== undefined && user.exitCode === null) {
    try {
      process.kill(-user.pid, "SIGKILL");
    } catch {
      // Gone already.
    }
  }
  await hookd?.stop();
});

describe("the issue 13 examples in the docs", () => {
  it("run as written against hookd and the quick start's receiver", { timeout: 180_000 }, async () => {
    const readme = await readFile(join(root, "README.md"), "utf8");
    const setUp = shellBlocks(section(readme, "Quick start")).find((block) => /^RECEIVER=/m.test(block));
    expect(setUp, "a quick-start block sets RECEIVER and starts the receiver").toBeDefined();
    const examples: string[] = [];
    for (const [file, titles] of SECTIONS) {
      const markdown = await readFile(join(root, file), "utf8");
      for (const title of titles) {
        const blocks = shellBlocks(section(markdown, title));
        expect(blocks.length, `${file}: "${title}" has a curl example`).toBeGreaterThan(0);
        examples.push(...blocks);
      }
    }

    hookd = await spawnHookd({ env: { HOOKD_PORT: "0", HOOKD_ALLOWED_NETWORKS: "127.0.0.0/8" } });
    let script = assign(setUp!, "HOOKD_URL", hookd.url);
    script = assign(script, "RECEIVER", `127.0.0.1:${await freePort()}`);
    // The receiver's last lines (the report, the ordered entries) come a moment after the commands.
    script = [script, ...examples, "sleep 2", "kill %1"].join("\n");

    // The user's shell knows only what the README tells it, and where `npx hookd` finds the key.
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const name of Object.keys(env)) if (name.startsWith("HOOKD_") || name === "NATS_URL") delete env[name];
    env.HOOKD_DATA_DIR = hookd.dataDir;
    const child = spawn("bash", ["-e", "-o", "pipefail", "-c", script], {
      cwd: root,
      env,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    user = child;
    let output = "";
    child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((done) => child.once("close", done));
    expect(code, `the examples failed:\n${output}`).toBe(0);

    const promised = promises(script);
    expect(promised.length).toBeGreaterThanOrEqual(12);
    for (const promise of promised) expect(output, `${promise}`).toMatch(promise);
    // "the receiver prints entries 1, 2 and 3, in that order"
    const ledger = [...output.matchAll(/receiver: POST \/ledger \S+ \{"entry":(\d)\}/g)].map((match) => match[1]);
    expect(ledger).toEqual(["1", "2", "3"]);
  });
});
