#!/usr/bin/env bash
# Measures COPY of TPC-H SF1 lineitem (6M rows, CSV from tpchgen-cli) into Grizzly and
# into PostgreSQL 15 on the same machine in the same run, and the time of
#   SELECT count(*), sum(l_quantity) FROM lineitem
# on both. Prints figures; asserts nothing. Needs: cargo, psql, tpchgen-cli (pip),
# PostgreSQL 15 server binaries (Debian postgresql-15). The full side-by-side suite is
# issue 3; this is the foundation's figure.
#   integration/bench/copy_lineitem.sh [WORKDIR]     (GRIZZLY_BIN=path to skip the build)
# Measured 2026-11-24 on the 2-core dev machine: Grizzly 230k rows/s (26.1 s), PostgreSQL
# 15 515k rows/s (11.7 s); count+sum 0.04-0.05 s vs 0.44-0.76 s.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
work="${1:-$root/integration/bench/data}"
mkdir -p "$work"
command -v tpchgen-cli >/dev/null || pip install -q tpchgen-cli
[ -f "$work/lineitem.csv" ] || tpchgen-cli csv -s 1 --tables lineitem --output-dir "$work"
bin="${GRIZZLY_BIN:-$root/target/release/grizzly}"
[ -n "${GRIZZLY_BIN:-}" ] || (cd "$root" && cargo build --release -q)

ddl="CREATE TABLE lineitem (l_orderkey bigint NOT NULL, l_partkey bigint NOT NULL, l_suppkey bigint NOT NULL,
 l_linenumber integer NOT NULL, l_quantity numeric(15,2) NOT NULL, l_extendedprice numeric(15,2) NOT NULL,
 l_discount numeric(15,2) NOT NULL, l_tax numeric(15,2) NOT NULL, l_returnflag varchar(1) NOT NULL,
 l_linestatus varchar(1) NOT NULL, l_shipdate date NOT NULL, l_commitdate date NOT NULL,
 l_receiptdate date NOT NULL, l_shipinstruct varchar(25) NOT NULL, l_shipmode varchar(10) NOT NULL,
 l_comment varchar(44) NOT NULL)"
copy="\\copy lineitem FROM '$work/lineitem.csv' WITH (FORMAT csv, HEADER true)"
query="SELECT count(*), sum(l_quantity) FROM lineitem"
rows=$(( $(wc -l < "$work/lineitem.csv") - 1 ))
mb=$(( $(stat -c %s "$work/lineitem.csv") / 1000000 ))

now() { date +%s.%N; }
measure() { # name port user
  local name=$1 port=$2 user=$3 p="psql -X -q -h 127.0.0.1 -p $2 -U $3 -d postgres"
  $p -c "DROP TABLE IF EXISTS lineitem" >/dev/null
  $p -c "$ddl" >/dev/null
  local t0 t1 t2 t3
  t0=$(now); $p -c "$copy" >/dev/null; t1=$(now)
  $p -c "$query" >/dev/null; t2=$(now)
  $p -c "$query" >/dev/null; t3=$(now)
  awk -v n="$name" -v r="$rows" -v mb="$mb" -v a="$t0" -v b="$t1" -v c="$t2" -v d="$t3" 'BEGIN {
    printf "%-12s COPY %d rows in %.1f s: %.0f rows/s, %.1f MB/s; count+sum: %.3f s cold-ish, %.3f s hot\n",
      n, r, b - a, r / (b - a), mb / (b - a), c - b, d - c }'
}

gdata="$(mktemp -d)"
"$bin" --data-dir "$gdata" --listen 127.0.0.1:55433 --log warn &
gpid=$!
pgdir="$(mktemp -d)"; chown postgres "$pgdir"
su postgres -c "/usr/lib/postgresql/15/bin/initdb -D $pgdir/data -A trust -U postgres" >/dev/null
su postgres -c "/usr/lib/postgresql/15/bin/pg_ctl -D $pgdir/data -o '-p 55499 -k /tmp -c fsync=on' -l $pgdir/log start" >/dev/null
trap 'kill $gpid; su postgres -c "/usr/lib/postgresql/15/bin/pg_ctl -D $pgdir/data stop -m fast" >/dev/null; rm -rf "$gdata" "$pgdir"' EXIT
sleep 2
measure grizzly 55433 bench
measure postgres15 55499 postgres
