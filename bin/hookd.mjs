#!/usr/bin/env node
// The installed `hookd` command. It runs the CLI's bundle, dist/cli/hookd.js (built by `npm run build:cli`,
// which npm install's prepare script and npm test run), which starts in a few tens of milliseconds. When the
// bundle is missing, or older than one of the sources it was built from (a CLI source edited since the last
// build), it runs the TypeScript sources through tsx instead: always current, but it compiles on every start.
import { readFileSync, statSync } from "node:fs";

const root = new URL("../", import.meta.url);
const bundle = new URL("dist/cli/hookd.js", root);

/** True when the bundle exists and none of its inputs (as its build's metafile lists them) changed since. */
function bundleIsCurrent() {
  try {
    const built = statSync(bundle).mtimeMs;
    const { inputs } = JSON.parse(readFileSync(new URL("dist/cli/meta.json", root), "utf8"));
    // The metafile names inputs relative to the folder the build ran in: the package root (npm scripts run there).
    return Object.keys(inputs).every((input) => statSync(new URL(input, root)).mtimeMs <= built);
  } catch {
    return false;
  }
}

if (bundleIsCurrent()) {
  await import(bundle.href);
} else {
  const { register } = await import("tsx/esm/api");
  register();
  await import("../src/cli/hookd.ts");
}
