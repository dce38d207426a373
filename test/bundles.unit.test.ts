import { mkdir, mkdtemp, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterEach, beforeEach, expect, it } from "vitest";
import { currentBundle, stampBundle } from "../bin/bundles.mjs";

/**
 * bin/serve.mjs and bin/hookd.mjs run a bundle only while it is current: once a source differs from what
 * the bundle was built from (a pull, an edit, an archive unpacked with old dates), or while a build is
 * rewriting the bundle, they run the sources instead, so hookd never runs code its checkout does not hold.
 */

let dir: string;
let root: URL;
const at = (...path: string[]) => join(dir, ...path);

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "hookd-bundles-"));
  root = pathToFileURL(`${dir}/`);
  await mkdir(at("dist", "server"), { recursive: true });
  await mkdir(at("src"), { recursive: true });
  await writeFile(at("tsconfig.json"), '{"compilerOptions":{"jsx":"react-jsx"}}');
  await writeFile(at("src", "main.node.ts"), "import './server.ts';\n");
  await writeFile(at("src", "server.ts"), "export const port = 8080;\n");
  await writeFile(at("dist", "server", "main.js"), "const port = 8080;\n");
  await writeFile(
    at("dist", "server", "meta.json"),
    JSON.stringify({ inputs: { "src/main.node.ts": {}, "src/server.ts": {} } }),
  );
  stampBundle("server", "main.js", root);
});

afterEach(() => rm(dir, { recursive: true, force: true }));

it("is the bundle while it and its inputs are as they were built", () => {
  expect(currentBundle("server", "main.js", root)?.href).toBe(new URL("dist/server/main.js", root).href);
});

it("is null once an input changed, even when the changed file carries an older date", async () => {
  await writeFile(at("src", "server.ts"), "export const port = 9090;\n");
  const old = new Date("2020-01-01T00:00:00Z");
  await utimes(at("src", "server.ts"), old, old);
  expect(currentBundle("server", "main.js", root)).toBeNull();
});

it("is null when tsconfig.json changed (esbuild compiles its settings in)", async () => {
  await writeFile(at("tsconfig.json"), '{"compilerOptions":{"jsx":"preserve"}}');
  expect(currentBundle("server", "main.js", root)).toBeNull();
});

it("is null while a build rewrites the bundle, before it stamps it", async () => {
  await writeFile(at("dist", "server", "main.js"), "const po");
  expect(currentBundle("server", "main.js", root)).toBeNull();
});

it("is null when an input is gone, the bundle was never built, or its stamp or metafile is missing", async () => {
  expect(currentBundle("cli", "hookd.js", root)).toBeNull();
  await rm(at("dist", "server", "stamp"));
  expect(currentBundle("server", "main.js", root)).toBeNull();
  stampBundle("server", "main.js", root);
  await rm(at("src", "server.ts"));
  expect(currentBundle("server", "main.js", root)).toBeNull();
  await rm(at("dist", "server", "meta.json"));
  expect(currentBundle("server", "main.js", root)).toBeNull();
});
