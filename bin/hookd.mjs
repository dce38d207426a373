#!/usr/bin/env node
// The installed `hookd` command. It runs the CLI's bundle, dist/cli/hookd.js (built by `npm run build:cli`),
// which starts in a few tens of milliseconds. When the bundle is missing, or older than one of the sources it
// was built from (a CLI source edited since the last build), it runs the TypeScript sources through tsx
// instead: always current, but it compiles on every start.
import { currentBundle, importSource } from "./bundles.mjs";

const bundle = currentBundle("cli", "hookd.js");
if (bundle) await import(bundle.href);
else await importSource("src/cli/hookd.ts");
