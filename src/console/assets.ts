import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";

/**
 * The console's static files, read once at start: htmx and its SSE extension and uPlot straight
 * from node_modules (no bundler step), and the console's own script and style sheet beside this
 * file. Served from memory with their hash-free names and a short cache.
 */

export type ConsoleAsset = { body: Uint8Array<ArrayBuffer>; type: string };
export type ConsoleAssets = ReadonlyMap<string, ConsoleAsset>;

const JS = "text/javascript; charset=utf-8";
const CSS = "text/css; charset=utf-8";

const FROM_PACKAGES: Record<string, [string, string]> = {
  "htmx.min.js": ["htmx.org/dist/htmx.min.js", JS],
  "htmx-sse.js": ["htmx-ext-sse/sse.js", JS],
  "uplot.min.js": ["uplot/dist/uPlot.iife.min.js", JS],
  "uplot.min.css": ["uplot/dist/uPlot.min.css", CSS],
};

const OWN: Record<string, string> = { "console.js": JS, "console.css": CSS, "fleet-chart.js": JS };

/**
 * The console's own files stay in src/console/public: beside this file when it runs from its source, and two
 * folders up from the server's bundle (dist/server/main.js, bin/serve.mjs), which does not copy them.
 */
const OWN_FOLDER = new URL(
  import.meta.url.endsWith(".ts") ? "./public/" : "../../src/console/public/",
  import.meta.url,
);

export async function loadConsoleAssets(): Promise<ConsoleAssets> {
  const require = createRequire(import.meta.url);
  const assets = new Map<string, ConsoleAsset>();
  for (const [name, [specifier, type]] of Object.entries(FROM_PACKAGES)) {
    assets.set(name, { body: new Uint8Array(await readFile(require.resolve(specifier))), type });
  }
  for (const [name, type] of Object.entries(OWN)) {
    assets.set(name, { body: new Uint8Array(await readFile(new URL(name, OWN_FOLDER))), type });
  }
  return assets;
}
