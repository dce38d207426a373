import { readdirSync } from "node:fs";
import { join } from "node:path";
import { defineConfig } from "vitest/config";

/**
 * The vitest suite. A test file's name says what it starts, so a reader knows its cost before opening it:
 *   *.unit.test.ts  nothing (pure code; beside the file it tests in actors/ and src/)
 *   *.int.test.ts   its own nats-server, with hookd in this process (test/, most through hookdSuite)
 *   *.e2e.test.ts   hookd as a child process too: the server or the hookd command (test/)
 * `npx vitest run .unit.` runs the quick ones alone. test/deno/ is Deno's and runs under `npm run test:deno`.
 */

const LEVELED = /\.(unit|int|e2e)\.test\.ts$/;

/**
 * Test files whose name carries no level. The include patterns take every *.test.ts, so such a file would
 * run unlabelled; refusing it here keeps the convention true instead of hoping for it.
 */
function unleveled(dir: string): string[] {
  // Paths as strings: Dirent.parentPath is missing before Node 20.12, and hookd supports every Node 20.
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((path) => path.endsWith(".test.ts") && !LEVELED.test(path))
    .map((path) => join(dir, path));
}

const misnamed = ["actors", "src", "test"].flatMap(unleveled);
if (misnamed.length) {
  const names = misnamed.join(", ");
  throw new Error(`name each test file by what it starts (.unit, .int or .e2e before .test.ts): ${names}`);
}

export default defineConfig({
  test: {
    include: ["actors/**/*.test.ts", "src/**/*.test.ts", "test/*.test.ts"],
    // Integration suites each spawn their own nats-server and hookd processes; two cores cannot run many at once.
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
