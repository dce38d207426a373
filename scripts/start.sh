#!/usr/bin/env bash
# What `npm start` runs: install what is missing, then become hookd. npm passes SIGINT and SIGTERM on
# to the process it started; `exec` (here and in package.json's "start") makes that process hookd
# itself, not a shell that would die of the signal and leave hookd running.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The bundles are rebuilt when a pull changed their sources but not the lock file (hookd and its CLI would
# still run, from their sources through tsx, but slowly and with tsx's loader in memory).
current='import("./bin/bundles.mjs").then((b) => process.exit(b.currentBundle("cli", "hookd.js") && b.currentBundle("server", "main.js") ? 0 : 1))'
if ! node --input-type=module -e "$current"; then
  echo "setup: building the server, CLI and client bundles" >&2
  npm run --silent build >&2
fi
exec node bin/serve.mjs
