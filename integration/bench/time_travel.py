#!/usr/bin/env python3
"""Time-travel cost: the same query on the present table and AS OF past times.

Builds a table with 1,000 commits of 1,000 rows each (1M rows), flushed to blocks by
clean restarts every 250 commits, so an AS OF time in the middle of the history reads
blocks at that time, blocks flushed after it (filtered by commit time) and nothing from
the memtable. Prints medians of --runs executions of each query, and the planning time
(EXPLAIN) with and without AS OF, which is where the snapshot is resolved.

Usage: integration/bench/time_travel.py GRIZZLY_BINARY [--runs N] [--port P]
Nothing asserts on time; it prints figures.
"""
import argparse, os, signal, statistics, subprocess, tempfile, time

import psycopg


def start(binary, data, port):
    proc = subprocess.Popen([binary, "--data-dir", data, "--listen", f"127.0.0.1:{port}",
                             "--log", "warn"], stdout=subprocess.PIPE, text=True)
    proc.stdout.readline()  # the listening line
    return proc


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=120)


def timed(conn, sql, runs):
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        conn.execute(sql).fetchall()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("binary")
    p.add_argument("--runs", type=int, default=15)
    p.add_argument("--port", type=int, default=5443)
    args = p.parse_args()
    data = os.path.join(tempfile.mkdtemp(prefix="grizzly-tt-"), "data")
    dsn = f"host=127.0.0.1 port={args.port} user=bench dbname=bench"
    proc = start(args.binary, data, args.port)
    conn = psycopg.connect(dsn, autocommit=True)
    conn.execute("CREATE TABLE tt (id bigint, grp int, val double precision)")
    marks = {}
    load = time.perf_counter()
    for i in range(1000):
        lo = i * 1000
        conn.execute(f"INSERT INTO tt SELECT value, value % 10, value * 0.5 "
                     f"FROM generate_series({lo}, {lo + 999})")
        if i + 1 in (250, 500, 750):
            marks[i + 1] = conn.execute("SELECT now()").fetchone()[0]
            conn.close()
            stop(proc)  # flushes the memtable into a block
            proc = start(args.binary, data, args.port)
            conn = psycopg.connect(dsn, autocommit=True)
    load = time.perf_counter() - load
    marks[1000] = conn.execute("SELECT now()").fetchone()[0]
    query = "SELECT count(*), sum(val) FROM tt{} WHERE grp = 3"
    rows = [("present", "")] + [
        (f"AS OF commit {n}", f" AS OF TIMESTAMP '{marks[n].isoformat()}'") for n in (250, 500, 1000)]
    print(f"1,000 commits of 1,000 rows loaded in {load:.1f} s (3 clean restarts)")
    print(f"{'query':<18} {'median ms':>10} {'vs present':>11} {'plan ms':>8}  result")
    base = None
    for label, clause in rows:
        sql = query.format(clause)
        ms = timed(conn, sql, args.runs)
        plan = timed(conn, "EXPLAIN " + sql, args.runs)
        base = base or ms
        result = conn.execute(sql).fetchone()
        print(f"{label:<18} {ms:>10.2f} {ms / base:>10.2f}x {plan:>8.2f}  {result}")
    conn.close()
    stop(proc)


if __name__ == "__main__":
    main()
