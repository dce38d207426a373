import { mkdir, mkdtemp, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterEach, beforeEach, expect, it } from "vitest";
import { currentBundle } from "../bin/bundles.mjs";

/**
 * bin/serve.mjs and bin/hookd.mjs run a bundle only while it is current: a source pulled or edited since the
 * build makes them run the sources instead, so hookd never runs code older than its checkout.
 */

let dir: string;
let root: URL;
const BUILT = new Date("2026-12-01T12:00:00Z");

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "hookd-bundles-"));
  root = pathToFileURL(`${dir}/`);
  await mkdir(join(dir, "dist", "server"), { recursive: true });
  await mkdir(join(dir, "src"), { recursive: true });
  await writeFile(join(dir, "dist", "server", "main.js"), "");
  const inputs = { "src/main.node.ts": {}, "src/server.ts": {} };
  await writeFile(join(dir, "dist", "server", "meta.json"), JSON.stringify({ inputs }));
  for (const input of Object.keys(inputs)) {
    await writeFile(join(dir, input), "");
    await utimes(join(dir, input), BUILT.getTime() / 1000 - 60, BUILT.getTime() / 1000 - 60);
  }
  await utimes(join(dir, "dist", "server", "main.js"), BUILT, BUILT);
});

afterEach(() => rm(dir, { recursive: true, force: true }));

it("is the bundle while every input is older than it", () => {
  expect(currentBundle("server", "main.js", root)?.href).toBe(new URL("dist/server/main.js", root).href);
});

it("is null once one input changed after the build", async () => {
  const later = BUILT.getTime() / 1000 + 1;
  await utimes(join(dir, "src", "server.ts"), later, later);
  expect(currentBundle("server", "main.js", root)).toBeNull();
});

it("is null when an input is gone, the bundle was never built, or its metafile is missing", async () => {
  await rm(join(dir, "src", "server.ts"));
  expect(currentBundle("server", "main.js", root)).toBeNull();
  expect(currentBundle("cli", "hookd.js", root)).toBeNull();
  await rm(join(dir, "dist", "server", "meta.json"));
  expect(currentBundle("server", "main.js", root)).toBeNull();
});
