// hookd's server, as npm start, the systemd unit and `hookd serve` run it: the bundle dist/server/main.js (built
// by `npm run build:server`) when it is current, else the TypeScript sources through tsx. The bundle is plain
// JavaScript, so hookd neither compiles at start nor carries tsx's loader (about 45 MB of memory); its source
// map points stack traces at the TypeScript sources.
import { currentBundle, importSource } from "./bundles.mjs";

const bundle = currentBundle("server", "main.js");
if (bundle) {
  process.setSourceMapsEnabled(true);
  await import(bundle.href);
} else {
  process.stderr.write(
    "hookd: dist/server/main.js is missing or was built from other sources; running the sources through tsx " +
      "(npm run build makes the bundle again)\n",
  );
  await importSource("src/main.node.ts");
}
