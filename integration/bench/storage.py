#!/usr/bin/env python3
"""Storage figures: codecs and compaction (issue 6).

0. Partitions: the 10M-row series below also loaded into a table WITH (partition_by =
   'day(ts)') and, unpartitioned, ordered by host instead of time; the median time of a
   query over one day of each (the codec tables are unpartitioned, in time order).
1. Codecs: the same 10M-row time series (ts timestamptz, host text, v double precision;
   one row every 3 s from 2026-01-01, 100 hosts) loaded into a table WITH (compression =
   'lz4') and one WITH (compression = 'zstd'); bytes on disk (grizzly_blocks) and the
   median time of a full scan.
2. Compaction: a table built from 1,000 small INSERTs of 1,000 rows, each written to its
   own block (an ALTER TABLE after each INSERT writes the memtable to a block, as a long
   run of small writes flushed one by one would); block count and the median time of a
   query over all of it, before and after SELECT grizzly_compact(...), and the time the
   compaction took.
3. Sorted compaction: 1M scattered keys from 200 INSERTs, compacted without and with
   sort_by on the key; the median time of a point lookup and a narrow range on it.

Usage: integration/bench/storage.py GRIZZLY_BINARY [--runs N] [--port P] [--rows N]
Nothing asserts on time; it prints figures.
"""
import argparse, os, signal, subprocess, tempfile, time

import psycopg

import time_travel


def start(binary, data, port):
    proc = subprocess.Popen([binary, "--data-dir", data, "--listen", f"127.0.0.1:{port}",
                             "--log", "warn", "--compact-min-blocks", "0"],
                            stdout=subprocess.PIPE, text=True)
    proc.stdout.readline()  # the listening line
    return proc


def timed(conn, sql, runs):
    """Median milliseconds of `runs` executions after one warm-up."""
    conn.execute(sql).fetchall()
    return time_travel.timed(conn, sql, runs)


def blocks(conn, table):
    return conn.execute(f"SELECT count(*), sum(bytes), sum(rows) FROM grizzly_blocks('{table}')"
                        ).fetchone()


def codecs(conn, rows, runs):
    print(f"== codecs: {rows:,} rows of (ts timestamptz, host text, v double precision)")
    print(f"{'codec':>6} {'load s':>7} {'blocks':>6} {'MB':>8} {'full scan ms':>13}")
    for codec in ("lz4", "zstd"):
        table = f"series_{codec}"
        conn.execute(f"CREATE TABLE {table} (ts timestamptz, host text, v double precision) "
                     f"WITH (compression = '{codec}')")
        t = time.perf_counter()
        conn.execute(f"INSERT INTO {table} SELECT "
                     f"to_timestamp(1767225600 + value * 3), 'host-' || (value % 100), "
                     f"(value % 9973) * 0.25 FROM generate_series(0, {rows - 1})")
        load = time.perf_counter() - t
        count, size, _ = blocks(conn, table)
        scan = timed(conn, f"SELECT count(*), sum(v), max(host), max(ts) FROM {table}", runs)
        print(f"{codec:>6} {load:7.2f} {count:6d} {size / 1e6:8.1f} {scan:13.1f}")


def partitions(conn, rows, runs):
    print(f"== partitions: one day of {rows:,} rows over {rows * 3 // 86400} days")
    conn.execute("CREATE TABLE series_daily (ts timestamptz, host text, v double precision) "
                 "WITH (partition_by = 'day(ts)')")
    t = time.perf_counter()
    conn.execute("INSERT INTO series_daily SELECT * FROM series_lz4")
    load = time.perf_counter() - t
    count = conn.execute("SELECT count(*) FROM grizzly_partitions('series_daily')").fetchone()[0]
    # The same rows unpartitioned but not in time order (as after a backfill, or rows
    # that arrive by host): row-group statistics can no longer narrow a time range.
    conn.execute("CREATE TABLE series_by_host (ts timestamptz, host text, v double precision)")
    conn.execute("INSERT INTO series_by_host SELECT * FROM series_lz4 ORDER BY host, v")
    day = "WHERE ts >= '2026-01-10' AND ts < '2026-01-11'"
    print(f"{'table':>14} {'one day ms':>11}")
    for table in ("series_lz4", "series_by_host", "series_daily"):
        ms = timed(conn, f"SELECT count(*), avg(v) FROM {table} {day}", runs)
        print(f"{table:>14} {ms:11.1f}")
    print(f"(series_daily: {count} partitions, loaded by INSERT ... SELECT in {load:.1f} s)")


def compaction(conn, runs):
    print("== compaction: 1,000 INSERTs of 1,000 rows, each in its own block")
    conn.execute("CREATE TABLE small (id bigint, grp int, v double precision)")
    t = time.perf_counter()
    for i in range(1000):
        lo = i * 1000
        conn.execute(f"INSERT INTO small SELECT value, value % 10, value * 0.5 "
                     f"FROM generate_series({lo}, {lo + 999})")
        conn.execute("ALTER TABLE small SET (retention = '7 days')")  # writes the block
    print(f"built in {time.perf_counter() - t:.1f} s")
    query = "SELECT grp, count(*), sum(v) FROM small GROUP BY grp"
    point = "SELECT v FROM small WHERE id = 123456"
    before = blocks(conn, "small")
    q_before, p_before = timed(conn, query, runs), timed(conn, point, runs)
    t = time.perf_counter()
    report = conn.execute("SELECT grizzly_compact('small')").fetchone()[0]
    took = time.perf_counter() - t
    after = blocks(conn, "small")
    q_after, p_after = timed(conn, query, runs), timed(conn, point, runs)
    print(f"{'':>7} {'blocks':>6} {'MB':>6} {'group-by ms':>12} {'point ms':>9}")
    print(f"{'before':>7} {before[0]:6d} {before[1] / 1e6:6.1f} {q_before:12.1f} {p_before:9.1f}")
    print(f"{'after':>7} {after[0]:6d} {after[1] / 1e6:6.1f} {q_after:12.1f} {p_after:9.1f}")
    print(f"compaction took {took:.2f} s: {report}")



def sorted_compaction(conn, runs):
    print("== compaction with a sort key: 200 INSERTs of 5,000 scattered keys, compacted "
          "without and with sort_by = 'k'")
    for table, options in (("scattered", ""), ("sorted", " WITH (sort_by = 'k')")):
        conn.execute(f"CREATE TABLE {table} (k bigint, v double precision){options}")
        for i in range(200):
            lo = i * 5000
            conn.execute(f"INSERT INTO {table} SELECT (value * 7919) % 1000000, value * 0.5 "
                         f"FROM generate_series({lo}, {lo + 4999})")
            conn.execute(f"ALTER TABLE {table} SET (retention = '7 days')")
        conn.execute(f"SELECT grizzly_compact('{table}')")
    point = "SELECT v FROM {} WHERE k = 424242"
    narrow = "SELECT count(*), sum(v) FROM {} WHERE k BETWEEN 100000 AND 101000"
    print(f"{'table':>10} {'blocks':>6} {'point ms':>9} {'range ms':>9}")
    for table in ("scattered", "sorted"):
        count = blocks(conn, table)[0]
        p_ms = timed(conn, point.format(table), runs)
        r_ms = timed(conn, narrow.format(table), runs)
        print(f"{table:>10} {count:6d} {p_ms:9.1f} {r_ms:9.1f}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("binary")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--port", type=int, default=5444)
    p.add_argument("--rows", type=int, default=10_000_000)
    args = p.parse_args()
    data = os.path.join(tempfile.mkdtemp(prefix="grizzly-storage-"), "data")
    proc = start(args.binary, data, args.port)
    try:
        conn = psycopg.connect(f"host=127.0.0.1 port={args.port} user=bench dbname=bench",
                               autocommit=True)
        codecs(conn, args.rows, args.runs)
        partitions(conn, args.rows, args.runs)
        compaction(conn, args.runs)
        sorted_compaction(conn, args.runs)
        conn.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=120)


if __name__ == "__main__":
    main()
