import { readdir, readFile } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

/**
 * The layers of docs/architecture.md ("Layers", and record 38 for how they differ from the design):
 * each folder imports only from the layers below it, so no import runs upward. The entry points
 * (`src/*.ts` other than the helpers every layer shares, `src/start/`, `src/cli/`) may import anything.
 */

const ROOT = join(import.meta.dirname, "..");

/** Imported from every layer with I/O, and importing nothing of hookd's but each other. */
const SHARED = new Set(["src/log.ts", "src/metrics.ts", "src/unref-timer.ts", "src/redact-token.ts"]);

/** Pure code, and the client that browsers load: not even the shared helpers (pino, prom-client). */
const PURE = new Set(["src/domain", "actors", "src/client"]);

const BELOW: Record<string, readonly string[]> = {
  "src/domain": [],
  "actors": ["src/domain"],
  "src/client": ["src/domain"],
  "src/delivery": ["src/domain"],
  "src/nats": ["src/domain", "actors"],
  "src/runtime": ["src/domain", "actors", "src/nats", "src/delivery"],
  "src/console": ["src/domain", "actors", "src/nats", "src/delivery", "src/runtime"],
  // The HTTP surface mounts the console; the console reads the views they share from src/runtime.
  "src/http": ["src/domain", "actors", "src/nats", "src/delivery", "src/runtime", "src/console"],
};

/** The layer a repository path belongs to; "shared" for SHARED, null for the entry points and anything outside. */
function layerOf(path: string): string | null {
  if (SHARED.has(path)) return "shared";
  if (path.startsWith("actors/")) return "actors";
  const folder = /^(src\/[^/]+)\//.exec(path)?.[1];
  return folder && folder in BELOW ? folder : null;
}

async function sources(): Promise<string[]> {
  const found: string[] = [];
  for (const dir of ["src", "actors"]) {
    // Paths as strings: Dirent.parentPath is missing before Node 20.12, and hookd supports every Node 20.
    const paths = await readdir(join(ROOT, dir), { recursive: true, encoding: "utf8" });
    found.push(
      ...paths.filter((path) => /\.tsx?$/.test(path) && !/\.test\.tsx?$/.test(path)).map((p) => `${dir}/${p}`),
    );
  }
  return found;
}

/** Every relative import of `file` (static, type-only, re-export or dynamic) that crosses into a layer it may not use. */
export function upwardImports(file: string, text: string): string[] {
  const from = layerOf(file);
  if (from === null) return [];
  const allowed = new Set([from, ...(PURE.has(from) ? [] : ["shared"]), ...(BELOW[from] ?? [])]);
  return ts.preProcessFile(text, true, true).importedFiles
    .map((reference) => reference.fileName)
    .filter((name) => name.startsWith("."))
    .map((name) => relative(ROOT, join(ROOT, dirname(file), name)).replaceAll("\\", "/"))
    .filter((target) => {
      const to = layerOf(target);
      // A shared helper imports only other shared helpers; an entry point is never a target of a layer.
      return from === "shared" ? to !== "shared" : !allowed.has(to ?? "entry");
    })
    .map((target) => `${file} imports ${target}`);
}

describe("layers", () => {
  it("keeps every import in src/ and actors/ pointing down the layers", async () => {
    const found: string[] = [];
    for (const file of await sources()) found.push(...upwardImports(file, await readFile(join(ROOT, file), "utf8")));
    expect(found).toEqual([]);
  });

  it("flags an import that runs upward, a type-only one too, and lets a layer reach past the one below", () => {
    expect(upwardImports("src/nats/x.ts", 'import type { Q } from "../runtime/quick-windows.ts";')).toEqual([
      "src/nats/x.ts imports src/runtime/quick-windows.ts",
    ]);
    expect(upwardImports("src/domain/x.ts", 'export { a } from "../log.ts";')).toEqual([
      "src/domain/x.ts imports src/log.ts",
    ]);
    expect(upwardImports("src/nats/x.ts", 'import { a } from "../log.ts";')).toEqual([]);
    expect(upwardImports("src/domain/x.ts", 'const m = await import("../nats/layout.ts");')).toEqual([
      "src/domain/x.ts imports src/nats/layout.ts",
    ]);
    expect(upwardImports("src/log.ts", 'import { c } from "./config.ts";')).toEqual([
      "src/log.ts imports src/config.ts",
    ]);
    expect(upwardImports("src/http/x.ts", 'import { d } from "../../actors/delivery.machine.ts";')).toEqual([]);
    expect(upwardImports("src/start/x.ts", 'import { h } from "../http/app.ts";')).toEqual([]);
  });
});
