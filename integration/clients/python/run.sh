#!/usr/bin/env bash
# Python driver tests: psycopg2, psycopg 3, asyncpg, SQLAlchemy and pandas against one fresh
# Grizzly. Installs the drivers with pip when they cannot be imported, then runs pytest.
# Extra arguments go to pytest, e.g.  integration/clients/python/run.sh -k asyncpg -x
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$here/../../.."
. "$root/integration/grizzly.sh"
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
tls="$(mktemp -d)"
pid=
tls_pid=
# Stop the servers and wait for their clean shutdown before deleting the data directories.
cleanup() {
  for p in $pid $tls_pid; do
    kill "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  rm -rf "$data" "$log" "$tls"
}
trap cleanup EXIT

# A second server for test_tls.py: TLS only, SCRAM passwords, with a certificate for
# localhost signed by a CA made here.
(
  cd "$tls"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 \
    -subj "/CN=Grizzly test CA" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr \
    -subj "/CN=localhost" 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >ext.cnf
  openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
    -out server.crt -days 2 -extfile ext.cnf 2>/dev/null
)
GRIZZLY_PASSWORD=tls-secret start_grizzly "$tls/log" --data-dir "$tls/data" --auth scram \
  --tls-cert "$tls/server.crt" --tls-key "$tls/server.key" --require-tls
tls_pid=$pid
tls_port=$port
start_grizzly "$log" --data-dir "$data"

export GRIZZLY_HOST=127.0.0.1 GRIZZLY_PORT="$port" GRIZZLY_USER=grizzly GRIZZLY_DB=grizzly
export GRIZZLY_TLS_PORT="$tls_port" GRIZZLY_TLS_CA="$tls/ca.crt" GRIZZLY_TLS_PASSWORD=tls-secret
export PYTHONDONTWRITEBYTECODE=1
cd "$here"
status=0
python3 -m pytest -q -p no:cacheprovider \
  test_psycopg2.py test_psycopg3.py test_asyncpg.py test_sqlalchemy.py test_pandas.py \
  test_tls.py "$@" || status=$?
if [ "$status" -ne 0 ]; then
  echo "--- server log ---"
  tail -n 50 "$log"
fi
exit "$status"
