#!/usr/bin/env bash
# Python driver tests: psycopg2, psycopg 3, asyncpg, SQLAlchemy and pandas against one fresh
# Grizzly. Installs the drivers with pip when they cannot be imported, then runs pytest.
# Extra arguments go to pytest, e.g.  integration/clients/python/run.sh -k asyncpg -x
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$here/../../.."
bin="${GRIZZLY_BIN:-${CARGO_TARGET_DIR:-$root/target}/debug/grizzly}"

# Install each missing client (module to import, then the pip requirement that provides it).
missing=()
while read -r module requirement; do
  python3 -c "import $module" 2>/dev/null || missing+=("$requirement")
done <<'LIST'
psycopg2 psycopg2-binary
psycopg psycopg[binary]>=3
asyncpg asyncpg
sqlalchemy SQLAlchemy>=2
pandas pandas
pytest pytest
LIST
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing: ${missing[*]}"
  PIP_DISABLE_PIP_VERSION_CHECK=1 python3 -m pip install --quiet --no-input "${missing[@]}"
fi

data="$(mktemp -d)"
log="$(mktemp)"
pid=
# Stop the server and wait for its clean shutdown before deleting the data directory under it.
cleanup() {
  if [ -n "$pid" ]; then
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  rm -rf "$data" "$log"
}
trap cleanup EXIT

"$bin" --data-dir "$data" --listen 127.0.0.1:0 --log warn >"$log" 2>&1 &
pid=$!
for _ in $(seq 100); do
  grep -q 'listening on' "$log" 2>/dev/null && break
  sleep 0.1
done
port="$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$log")"
[ -n "$port" ] || { echo "grizzly did not start:"; cat "$log"; exit 1; }

export GRIZZLY_HOST=127.0.0.1 GRIZZLY_PORT="$port" GRIZZLY_USER=grizzly GRIZZLY_DB=grizzly
export PYTHONDONTWRITEBYTECODE=1
cd "$here"
status=0
python3 -m pytest -q -p no:cacheprovider \
  test_psycopg2.py test_psycopg3.py test_asyncpg.py test_sqlalchemy.py test_pandas.py "$@" || status=$?
if [ "$status" -ne 0 ]; then
  echo "--- server log ---"
  tail -n 50 "$log"
fi
exit "$status"
