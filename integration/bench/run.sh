#!/usr/bin/env bash
# Side-by-side benchmark: Grizzly vs PostgreSQL 15 over the wire, with DataFusion and
# DuckDB in process as references. Sections: ingest, tpch, points, commits, stream, memory
# (see the docstring of bench.py for what each measures and how).
#
#   integration/bench/run.sh [--sf 1] [--runs 3] [--only ingest,tpch] [--queries 1,6] ...
#   integration/bench/run.sh --help
#
# Environment: GRIZZLY_BIN (a grizzly binary; without it `cargo build --release` runs and
# $CARGO_TARGET_DIR/release/grizzly is used), BENCH_SF, BENCH_RUNS, BENCH_ONLY.
# Installs what it lacks (pip: tpchgen-cli duckdb datafusion psycopg pyarrow; apt:
# postgresql-15), generates the TPC-H CSV into integration/bench/data/sf<SF>/ once, prints
# the tables and writes integration/bench/results/<UTC timestamp>.json. Runs as root (it
# starts PostgreSQL as the postgres user through su). Nothing asserts on time.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"

if ! python3 -c 'import duckdb, datafusion, psycopg, pyarrow' 2>/dev/null ||
   ! command -v tpchgen-cli >/dev/null; then
  python3 -m pip install -q --disable-pip-version-check \
    tpchgen-cli duckdb 'datafusion==55.*' 'psycopg[binary]' pyarrow
fi

if [ ! -x /usr/lib/postgresql/15/bin/postgres ] || ! command -v psql >/dev/null; then
  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql-15
fi

if [ -z "${GRIZZLY_BIN:-}" ]; then
  (cd "$root" && cargo build --release)
  GRIZZLY_BIN="${CARGO_TARGET_DIR:-$root/target}/release/grizzly"
fi
export GRIZZLY_BIN

exec python3 "$here/bench.py" "$@"
