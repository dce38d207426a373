#!/usr/bin/env bash
# What `npm start` runs: install what is missing, then become hookd. npm passes SIGINT and SIGTERM on
# to the process it started; `exec` (here and in package.json's "start") makes that process hookd
# itself, not a shell that would die of the signal and leave hookd running.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node --import tsx src/main.node.ts
