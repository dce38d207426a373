#!/usr/bin/env bash
# Installs what hookd needs, only what is missing: npm dependencies, and nats-server when hookd
# will run its own (NATS_URL unset) or when the tests will (they always start their own).
# Usage: scripts/setup.sh [--for-tests | --for-bench]
set -euo pipefail
cd "$(dirname "$0")/.."

for_tests=false
for_bench=false
[ "${1:-}" = "--for-tests" ] && for_tests=true
# The benches start their own nats-server, as the tests do.
[ "${1:-}" = "--for-bench" ] && for_bench=true && for_tests=false

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "hookd needs Node.js 20 or newer (found: $(node --version 2>/dev/null || echo none))." >&2
  exit 1
fi

lock_sum=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -d node_modules ] || [ "$(cat node_modules/.hookd-lock-sum 2>/dev/null)" != "$lock_sum" ]; then
  # npm install, not npm ci: with omit-lockfile-registry-resolved (set on some machines) npm drops the
  # other platforms' optional packages (deno's per-OS binaries) from the lock, and npm ci then refuses it.
  echo "setup: installing npm dependencies" >&2
  npm install --no-audit --no-fund >&2
  # The sum of the lock as npm left it, so the next start does not install again.
  sha256sum package-lock.json | cut -d' ' -f1 > node_modules/.hookd-lock-sum
fi

# Whether this script may install Debian packages itself: as root, where apt-get is.
can_apt() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; }

# apt_install <package> <why>: one && list, so a failed update stops the install; called as a plain
# command a failure ends the script (set -e), inside `if` the caller decides.
apt_install() {
  echo "setup: installing $1${2:+ $2} (apt-get install $1)" >&2
  apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >&2
}

nats_bin=${HOOKD_NATS_SERVER_BIN:-nats-server}
if { $for_tests || $for_bench || [ -z "${NATS_URL:-}" ]; } && ! command -v "$nats_bin" >/dev/null 2>&1 && [ ! -x /usr/sbin/nats-server ]; then
  if can_apt; then
    apt_install nats-server ""
  else
    cat >&2 <<'MSG'
hookd needs nats-server (with JetStream) and it is not installed. Either:
  sudo apt-get update && sudo apt-get install -y nats-server     # Debian/Ubuntu
or run hookd against an existing NATS server with JetStream enabled:
  NATS_URL=nats://host:4222 npm start
MSG
    exit 1
  fi
fi

# The console's browser tests drive Debian's chromium (test/support/browser.ts); only the tests need it.
if $for_tests && [ ! -x /usr/bin/chromium ]; then
  if can_apt; then
    apt_install chromium "for the console's browser tests"
  else
    cat >&2 <<'MSG'
The console's browser tests need Debian's chromium at /usr/bin/chromium, and it is not installed:
  sudo apt-get update && sudo apt-get install -y chromium     # Debian/Ubuntu
MSG
    exit 1
  fi
fi

# bench/dispatch loads ingest with wrk (C) when it is there, which leaves more of a small machine to
# hookd than autocannon (Node) does; without it the bench says so and uses autocannon.
if $for_bench && ! command -v wrk >/dev/null 2>&1; then
  if can_apt; then
    # wrk is optional: an apt-get that fails (no network, no package list) leaves the bench on
    # autocannon, never stops it (inside `if !`, set -e does not end the script).
    if ! apt_install wrk "for the ingest benchmark"; then
      echo "setup: wrk could not be installed; the bench uses autocannon" >&2
    fi
  else
    echo "setup: wrk is not installed (sudo apt-get install -y wrk); the ingest bench uses autocannon" >&2
  fi
fi
