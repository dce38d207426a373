#!/usr/bin/env bash
# What `npm start` runs: install what is missing, then become hookd. npm passes SIGINT and SIGTERM on
# to the process it started; `exec` (here and in package.json's "start") makes that process hookd
# itself, not a shell that would die of the signal and leave hookd running.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The CLI and client bundles are rebuilt when a pull changed their sources but not the lock file (the
# CLI would still run, from its sources, but slowly).
if [ ! -f dist/cli/hookd.js ] || [ -n "$(find src -newer dist/cli/hookd.js -name '*.ts' -print -quit)" ]; then
  echo "setup: building the CLI and client bundles" >&2
  npm run --silent build >&2
fi
exec node --import tsx src/main.node.ts
