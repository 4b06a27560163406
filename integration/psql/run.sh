#!/usr/bin/env bash
# psql session test: runs session.sql through a real psql against a fresh Grizzly and
# compares the transcript with expected.out. Regenerate the golden file with
#   integration/psql/run.sh --update
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$here/../.."
. "$root/integration/grizzly.sh"
bin="${GRIZZLY_BIN:-${CARGO_TARGET_DIR:-$root/target}/debug/grizzly}"
data="$(mktemp -d)"
out="$(mktemp)"
# Stop the server and wait for its clean shutdown (it writes its last blocks and files)
# before deleting the data directory under it.
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$data" "$out" "$out.log"' EXIT

start_grizzly "$out.log" --data-dir "$data"

PGTZ=UTC psql -X -a -v ON_ERROR_STOP=0 -h 127.0.0.1 -p "$port" -U anyone -d grizzly \
  -f - <"$here/session.sql" >"$out" 2>&1 || true

if [ "${1:-}" = "--update" ]; then
  cp "$out" "$here/expected.out"
  echo "updated $here/expected.out"
elif diff -u "$here/expected.out" "$out"; then
  echo "psql session: 1 passed, 0 failed"
else
  echo "psql session: 0 passed, 1 failed (diff above)"
  exit 1
fi
