#!/usr/bin/env bash
# node-postgres integration test: runs test.js (node's built-in test runner) with pg and
# pg-copy-streams against a fresh Grizzly.
#
#   integration/clients/node/run.sh
#
# Environment:
#   GRIZZLY_BIN        server binary (default: $CARGO_TARGET_DIR/debug/grizzly or target/debug/grizzly)
#   CLIENT_TEST_PORT   run against an already running server on 127.0.0.1:PORT instead of
#                      starting Grizzly (e.g. a real PostgreSQL, to confirm the expectations);
#                      CLIENT_TEST_USER / CLIENT_TEST_DB name the user and database there.
#
# Installs pg and pg-copy-streams into ./node_modules with npm when they are missing (and
# node/npm from Debian's packages when those are missing).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$here/../../.."
. "$root/integration/grizzly.sh"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi
if [ ! -f "$here/node_modules/pg/package.json" ] || [ ! -f "$here/node_modules/pg-copy-streams/package.json" ]; then
  (cd "$here" && npm install --no-package-lock --no-audit --no-fund --loglevel=error)
fi

data=""
log=""
pid=""
cleanup() {
  if [ -n "$pid" ]; then
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  [ -z "$data" ] || rm -rf "$data"
  [ -z "$log" ] || rm -f "$log"
}
trap cleanup EXIT

if [ -n "${CLIENT_TEST_PORT:-}" ]; then
  port="$CLIENT_TEST_PORT"
  user="${CLIENT_TEST_USER:-postgres}"
  db="${CLIENT_TEST_DB:-postgres}"
else
  bin="${GRIZZLY_BIN:-${CARGO_TARGET_DIR:-$root/target}/debug/grizzly}"
  data="$(mktemp -d)"
  log="$(mktemp)"
  start_grizzly "$log" --data-dir "$data"
  user=grizzly
  db=grizzly
fi

status=0
(cd "$here" && env PGHOST=127.0.0.1 PGPORT="$port" PGUSER="$user" PGDATABASE="$db" \
  PGPASSWORD= PGSSLMODE=disable TZ=UTC timeout 300 node --test test.js) || status=$?
if [ "$status" -ne 0 ] && [ -n "$log" ] && [ -s "$log" ]; then
  echo "--- server log"
  cat "$log"
fi
exit "$status"
