"""psycopg2 (libpq, simple query protocol, parameters interpolated on the client).

Covers: connecting and server_version, the implicit BEGIN psycopg2 sends when autocommit is off
and commit(), every column type round-tripping to its Python type (with the type OIDs in
cursor.description), numeric scale, array results, a named (server-side) cursor, executemany,
COPY FROM STDIN / COPY TO STDOUT through copy_expert, errors carrying the right SQLSTATE with
the connection usable again after rollback(), autocommit with SET/SHOW.
"""
import datetime as dt
import io
import re
from decimal import Decimal

import psycopg2
import psycopg2.errors
import psycopg2.extensions as ext
import pytest

from conftest import DSN

UTC = dt.timezone.utc


@pytest.fixture
def conn(table):
    # Depends on `table` so it closes before those tables are dropped.
    c = psycopg2.connect(DSN)
    yield c
    c.close()


def test_connect_and_server_version(conn):
    cur = conn.cursor()
    cur.execute("SHOW server_version")
    (shown,) = cur.fetchone()
    major, minor = (int(p) for p in re.match(r"(\d+)\.(\d+)", shown).groups())
    # libpq turns the server_version parameter into major * 10000 + minor.
    assert conn.server_version == major * 10000 + minor
    assert conn.server_version >= 100000
    assert conn.get_parameter_status("server_version") == shown
    assert conn.get_parameter_status("client_encoding") == "UTF8"
    assert conn.get_parameter_status("integer_datetimes") == "on"
    assert conn.get_parameter_status("standard_conforming_strings") == "on"
    cur.execute("SELECT version()")
    assert cur.fetchone()[0].startswith(f"PostgreSQL {major}.{minor}")


def test_implicit_begin_and_commit(conn, table):
    t = table("pg2_tx")
    assert conn.autocommit is False
    cur = conn.cursor()
    assert conn.get_transaction_status() == ext.TRANSACTION_STATUS_IDLE
    cur.execute(f"CREATE TABLE {t} (id integer)")
    # psycopg2 sent BEGIN first, so the server now reports an open transaction.
    assert conn.get_transaction_status() == ext.TRANSACTION_STATUS_INTRANS
    cur.execute(f"INSERT INTO {t} VALUES (1), (2)")
    assert cur.rowcount == 2
    conn.commit()
    assert conn.get_transaction_status() == ext.TRANSACTION_STATUS_IDLE

    other = psycopg2.connect(DSN)
    try:
        c2 = other.cursor()
        c2.execute(f"SELECT id FROM {t} ORDER BY id")
        assert c2.fetchall() == [(1,), (2,)]
    finally:
        other.close()


def test_types_round_trip(conn, table):
    t = table("pg2_types")
    cur = conn.cursor()
    cur.execute(
        f"""CREATE TABLE {t} (
            id integer NOT NULL,
            s smallint,
            b bigint,
            r real,
            d double precision,
            n numeric(10,2),
            tx text,
            vc varchar(20),
            ok boolean,
            day date,
            ts timestamp,
            tstz timestamptz,
            raw bytea
        )"""
    )
    row = (
        1,
        -32768,
        9223372036854775807,
        1.5,
        2.25,
        Decimal("12345678.90"),
        "héllo, 'wörld'\ttab",
        "varchar",
        True,
        dt.date(2024, 2, 29),
        dt.datetime(2024, 1, 2, 3, 4, 5, 123456),
        dt.datetime(2024, 1, 2, 3, 4, 5, 250000, tzinfo=UTC),
        b"\x00\x01\xfe\xff",
    )
    cur.execute(f"INSERT INTO {t} VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)", row)
    cur.execute(f"INSERT INTO {t} (id) VALUES (%s)", (2,))
    conn.commit()

    cur.execute(f"SELECT * FROM {t} ORDER BY id")
    names = [c.name for c in cur.description]
    assert names == ["id", "s", "b", "r", "d", "n", "tx", "vc", "ok", "day", "ts", "tstz", "raw"]
    oids = [c.type_code for c in cur.description]
    # int4 int2 int8 float4 float8 numeric text varchar bool date timestamp timestamptz bytea
    assert oids == [23, 21, 20, 700, 701, 1700, 25, 1043, 16, 1082, 1114, 1184, 17]

    first, second = cur.fetchall()
    assert first[:12] == row[:12]
    assert [type(v) for v in first] == [
        int, int, int, float, float, Decimal, str, str, bool,
        dt.date, dt.datetime, dt.datetime, memoryview,
    ]
    assert str(first[5]) == "12345678.90"
    assert first[10].tzinfo is None
    assert first[11].utcoffset() is not None
    assert bytes(first[12]) == b"\x00\x01\xfe\xff"
    assert second == (2,) + (None,) * 12


def test_literals_and_expressions(conn):
    cur = conn.cursor()
    cur.execute(
        "SELECT %s::integer + 1, %s::numeric * 2, upper(%s), %s IS NULL, %s::date + 1",
        (41, Decimal("1.25"), "abc", None, dt.date(2024, 12, 31)),
    )
    assert cur.fetchone() == (42, Decimal("2.50"), "ABC", True, dt.date(2025, 1, 1))


def test_unconstrained_numeric_keeps_its_scale(conn):
    # numeric without precision and scale stores the value with the scale it was given, and
    # arithmetic results get the scale of their operands (max for +, sum for *).
    cur = conn.cursor()
    cur.execute("SELECT '1.50'::numeric, '1.5'::numeric + 1, '1.5'::numeric * '2.25'::numeric, 1.5 + 1")
    assert [str(v) for v in cur.fetchone()] == ["1.50", "2.5", "3.375", "2.5"]


def test_array_results(conn):
    # Arrays come back as int4[] / text[] in '{...}' text format, which psycopg2 turns into lists.
    cur = conn.cursor()
    cur.execute("SELECT array_agg(x ORDER BY x), ARRAY['a', 'b c', NULL] FROM (VALUES (2), (1)) AS v(x)")
    assert cur.fetchone() == ([1, 2], ["a", "b c", None])
    assert [c.type_code for c in cur.description] == [1007, 1009]


def test_named_cursor(conn, table):
    # A named cursor is a server-side cursor: DECLARE "c" CURSOR WITHOUT HOLD FOR ...; FETCH FORWARD n FROM "c".
    t = table("pg2_named")
    cur = conn.cursor()
    cur.execute(f"CREATE TABLE {t} (id integer)")
    cur.execute(f"INSERT INTO {t} SELECT * FROM (VALUES (1), (2), (3), (4), (5)) AS v(id)")
    conn.commit()
    named = conn.cursor(name="pg2_cursor")
    named.itersize = 2
    named.execute(f"SELECT id FROM {t} ORDER BY id")
    assert named.fetchmany(2) == [(1,), (2,)]
    assert [r[0] for r in named] == [3, 4, 5]
    named.close()
    conn.commit()


def test_executemany(conn, table):
    t = table("pg2_many")
    cur = conn.cursor()
    cur.execute(f"CREATE TABLE {t} (id bigint NOT NULL, name text, amount numeric(8,2))")
    rows = [(i, f"name {i}", Decimal(i) / 4) for i in range(1, 21)]
    cur.executemany(f"INSERT INTO {t} (id, name, amount) VALUES (%s, %s, %s)", rows)
    conn.commit()
    cur.execute(f"SELECT count(*), sum(amount), min(name), max(id) FROM {t}")
    assert cur.fetchone() == (20, Decimal("52.50"), "name 1", 20)
    cur.execute(f"SELECT id, name, amount FROM {t} WHERE id IN (%s, %s) ORDER BY id", (3, 20))
    assert cur.fetchall() == [(3, "name 3", Decimal("0.75")), (20, "name 20", Decimal("5.00"))]


def test_copy_from_and_to_stdout_csv(conn, table):
    t = table("pg2_copy")
    cur = conn.cursor()
    cur.execute(f"CREATE TABLE {t} (id integer NOT NULL, name text, amount numeric(6,2), day date)")
    data = io.StringIO(
        "id,name,amount,day\n"
        '1,plain,1.50,2024-01-01\n'
        '2,"with, comma",,2024-01-02\n'
        '3,"quote "" inside",-3.00,\n'
    )
    cur.copy_expert(f"COPY {t} FROM STDIN WITH (FORMAT csv, HEADER true)", data)
    assert cur.rowcount == 3
    conn.commit()

    cur.execute(f"SELECT id, name, amount, day FROM {t} ORDER BY id")
    assert cur.fetchall() == [
        (1, "plain", Decimal("1.50"), dt.date(2024, 1, 1)),
        (2, "with, comma", None, dt.date(2024, 1, 2)),
        (3, 'quote " inside', Decimal("-3.00"), None),
    ]

    out = io.StringIO()
    cur.copy_expert(f"COPY (SELECT id, name, amount, day FROM {t} ORDER BY id) TO STDOUT WITH (FORMAT csv, HEADER)", out)
    assert out.getvalue() == (
        "id,name,amount,day\n"
        "1,plain,1.50,2024-01-01\n"
        '2,"with, comma",,2024-01-02\n'
        '3,"quote "" inside",-3.00,\n'
    )

    out = io.StringIO()
    cur.copy_expert(f"COPY {t} (id, name) TO STDOUT", out)
    assert sorted(out.getvalue().splitlines()) == ["1\tplain", "2\twith, comma", '3\tquote " inside']
    conn.commit()


def test_copy_from_text_format(conn, table):
    t = table("pg2_copytext")
    cur = conn.cursor()
    cur.execute(f"CREATE TABLE {t} (id integer, note text)")
    cur.copy_expert(f"COPY {t} FROM STDIN", io.StringIO("1\tone\n2\t\\N\n3\ttab\\there\n"))
    conn.commit()
    cur.execute(f"SELECT id, note FROM {t} ORDER BY id")
    assert cur.fetchall() == [(1, "one"), (2, None), (3, "tab\there")]


@pytest.mark.parametrize(
    "sql, pgcode, error_class",
    [
        ("SELECT * FROM pg2_no_such_table", "42P01", psycopg2.errors.UndefinedTable),
        ("SELECT no_such_column FROM {t}", "42703", psycopg2.errors.UndefinedColumn),
        ("INSERT INTO {t} (name) VALUES ('no id')", "23502", psycopg2.errors.NotNullViolation),
        ("SELEC 1", "42601", psycopg2.errors.SyntaxError),
        ("INSERT INTO {t} (id) VALUES ('abc')", "22P02", psycopg2.errors.InvalidTextRepresentation),
    ],
)
def test_error_sqlstate_then_rollback(conn, table, sql, pgcode, error_class):
    t = table("pg2_err")
    cur = conn.cursor()
    cur.execute(f"CREATE TABLE {t} (id integer NOT NULL, name text)")
    conn.commit()

    with pytest.raises(psycopg2.Error) as caught:
        cur.execute(sql.format(t=t))
    assert caught.value.pgcode == pgcode
    assert isinstance(caught.value, error_class)
    # The failed statement ran inside psycopg2's implicit transaction, which is now aborted.
    assert conn.get_transaction_status() == ext.TRANSACTION_STATUS_INERROR
    conn.rollback()
    assert conn.get_transaction_status() == ext.TRANSACTION_STATUS_IDLE

    cur.execute(f"INSERT INTO {t} VALUES (1, 'after')")
    conn.commit()
    cur.execute(f"SELECT id, name FROM {t}")
    assert cur.fetchall() == [(1, "after")]


def test_error_in_aborted_transaction(conn):
    cur = conn.cursor()
    with pytest.raises(psycopg2.errors.UndefinedTable):
        cur.execute("SELECT * FROM pg2_missing_too")
    # Until the rollback, PostgreSQL refuses every statement with 25P02.
    with pytest.raises(psycopg2.errors.InFailedSqlTransaction) as caught:
        cur.execute("SELECT 1")
    assert caught.value.pgcode == "25P02"
    conn.rollback()
    cur.execute("SELECT 1")
    assert cur.fetchone() == (1,)


def test_autocommit_and_settings(conn):
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("SET statement_timeout = '5s'")
    assert conn.get_transaction_status() == ext.TRANSACTION_STATUS_IDLE
    cur.execute("SHOW statement_timeout")
    assert cur.fetchone() == ("5s",)
    cur.execute("SET application_name = 'pg2-test'")
    cur.execute("SHOW application_name")
    assert cur.fetchone() == ("pg2-test",)
