"""psycopg 3 (libpq, extended query protocol with server-side parameters).

Covers: parameters sent in binary (%b) and results read in binary (binary cursors) for ints,
floats, Decimal, text, bytes, dates and datetimes; server-side prepared statements, both after
the prepare_threshold of repeated executes and forced with prepare=True; executemany (pipeline
mode) and an explicit pipeline; cursor.copy() for COPY FROM STDIN (write_row), COPY TO STDOUT
(rows()) and binary COPY TO (set_types + read_row()); server-side (named) cursors, with parameters
and WITH HOLD; autocommit and transaction blocks; an
error's sqlstate and diagnostics.
"""
import datetime as dt
from decimal import Decimal

import psycopg
import psycopg.errors
import pytest
from psycopg import pq

from conftest import DSN

UTC = dt.timezone.utc


@pytest.fixture
def conn(table):
    # Depends on `table` so it closes before those tables are dropped.
    with psycopg.connect(DSN, autocommit=True) as c:
        yield c


def test_connect(conn):
    assert conn.info.status == pq.ConnStatus.OK
    assert conn.info.parameter_status("client_encoding") == "UTF8"
    version = conn.execute("SHOW server_version").fetchone()[0]
    major = int(version.split(".")[0])
    assert conn.info.server_version // 10000 == major
    assert conn.execute("SELECT 1 + 1").fetchone() == (2,)


BINARY_VALUES = [
    # (Python value, the SQL type it is compared against, its type name in the result)
    (7, "smallint", "int2"),
    (-2147483648, "integer", "int4"),
    (9007199254740993, "bigint", "int8"),
    (1.5, "real", "float4"),
    (-0.1, "double precision", "float8"),
    (Decimal("-12345.678"), "numeric", "numeric"),
    ("ünïcode text", "text", "text"),
    (b"\x00bytes\xff", "bytea", "bytea"),
    (True, "boolean", "bool"),
    (dt.date(1999, 12, 31), "date", "date"),
    (dt.datetime(2024, 5, 6, 7, 8, 9, 10), "timestamp", "timestamp"),
    (dt.datetime(2024, 5, 6, 7, 8, 9, 10, tzinfo=UTC), "timestamptz", "timestamptz"),
]


@pytest.mark.parametrize("binary_results", [False, True], ids=["text-results", "binary-results"])
@pytest.mark.parametrize("value, sql_type, type_name", BINARY_VALUES, ids=[v[2] for v in BINARY_VALUES])
def test_binary_parameter_round_trip(conn, value, sql_type, type_name, binary_results):
    cur = conn.cursor(binary=binary_results)
    cur.execute(f"SELECT %b::{sql_type}, %b::{sql_type} IS NULL", (value, value))
    assert cur.fetchone() == (value, False)
    assert cur.description[0].type_display == type_name
    assert cur.pgresult.fformat(0) == (pq.Format.BINARY if binary_results else pq.Format.TEXT)


@pytest.mark.parametrize("placeholder", ["%s", "%b"])
def test_parameter_types_from_parse(conn, placeholder):
    # psycopg names each parameter's type in Parse; with no cast in the query the server uses
    # that type, so the value comes back as the same Python type.
    values = [5, 2**40, 1.5, Decimal("1.5"), dt.date(2024, 1, 1), True, b"ab",
              dt.datetime(2024, 1, 1, tzinfo=UTC), dt.datetime(2024, 1, 1, 12, 30)]
    for value in values:
        cur = conn.execute(f"SELECT {placeholder} AS v", (value,))
        assert cur.fetchone() == (value,)
    # Strings go as "unknown" (OID 0) and are resolved from the context, here text || text.
    assert conn.execute(f"SELECT {placeholder} || {placeholder}", ("x", "y")).fetchone() == ("xy",)


def test_binary_parameters_into_a_table(conn, table):
    t = table("pg3_bin")
    conn.execute(
        f"""CREATE TABLE {t} (
            i integer, b bigint, f double precision, n numeric(12,3), s text,
            raw bytea, day date, ts timestamp, tstz timestamptz, flag boolean
        )"""
    )
    row = (
        42, 2**40, 3.25, Decimal("-1.500"), "text", b"\x01\x02", dt.date(2020, 2, 29),
        dt.datetime(2020, 2, 29, 23, 59, 59, 999999),
        dt.datetime(2020, 2, 29, 12, 0, tzinfo=UTC), False,
    )
    conn.execute(f"INSERT INTO {t} VALUES (%b, %b, %b, %b, %b, %b, %b, %b, %b, %b)", row)
    conn.execute(f"INSERT INTO {t} (i) VALUES (%b)", (None,))
    cur = conn.cursor(binary=True)
    cur.execute(f"SELECT * FROM {t} ORDER BY i NULLS LAST")
    assert cur.fetchall() == [row, (None,) * 10]
    # The same rows through a text-format cursor and parameters.
    got = conn.execute(f"SELECT n, raw, tstz FROM {t} WHERE i = %s", (42,)).fetchall()
    assert got == [(Decimal("-1.500"), b"\x01\x02", dt.datetime(2020, 2, 29, 12, 0, tzinfo=UTC))]


def test_prepared_after_threshold(conn, table):
    t = table("pg3_prep")
    conn.execute(f"CREATE TABLE {t} (id integer NOT NULL, name text)")
    values = ", ".join(f"({i}, 'n{i}')" for i in range(1, 11))
    conn.execute(f"INSERT INTO {t} VALUES {values}")
    assert conn.prepare_threshold == 5
    cur = conn.cursor()
    for i in range(1, 11):
        # From the 6th execution on, psycopg sends Bind/Execute to a named statement.
        cur.execute(f"SELECT id, name, id * %s FROM {t} WHERE id = %s", (i, i))
        assert cur.fetchall() == [(i, f"n{i}", i * i)]
    for i in range(1, 11):
        cur.execute(f"SELECT count(*) FROM {t} WHERE id <= %s", (i,), binary=True)
        assert cur.fetchone() == (i,)


def test_prepare_true(conn, table):
    t = table("pg3_prep_forced")
    conn.execute(f"CREATE TABLE {t} (id bigint, amount numeric(6,2))")
    for i in range(4):
        conn.execute(f"INSERT INTO {t} VALUES (%s, %s)", (i, Decimal(i) / 2), prepare=True)
    for i in range(4):
        got = conn.execute(f"SELECT amount FROM {t} WHERE id = %s", (i,), prepare=True).fetchone()
        assert got == (Decimal(i) / 2,)
        assert str(got[0]) == f"{Decimal(i) / 2:.2f}"
    # A statement prepared once keeps working after other statements ran in between.
    assert conn.execute("SELECT %s::text || 'x'", ("a",), prepare=True).fetchone() == ("ax",)
    assert conn.execute(f"SELECT count(*) FROM {t}").fetchone() == (4,)
    assert conn.execute("SELECT %s::text || 'x'", ("b",), prepare=True).fetchone() == ("bx",)


def test_executemany_and_pipeline(conn, table):
    t = table("pg3_many")
    conn.execute(f"CREATE TABLE {t} (id integer, label text)")
    cur = conn.cursor()
    cur.executemany(f"INSERT INTO {t} VALUES (%s, %s)", [(i, f"row {i}") for i in range(50)])
    assert conn.execute(f"SELECT count(*), sum(id) FROM {t}").fetchone() == (50, 1225)

    with conn.pipeline():
        c1 = conn.execute(f"SELECT label FROM {t} WHERE id = %s", (7,))
        c2 = conn.execute(f"SELECT max(id) FROM {t}")
        conn.execute(f"INSERT INTO {t} VALUES (%s, %s)", (50, "row 50"))
    assert c1.fetchone() == ("row 7",)
    assert c2.fetchone() == (49,)
    assert conn.execute(f"SELECT count(*) FROM {t}").fetchone() == (51,)


def test_copy_from_stdin_write_row_and_to_stdout_rows(conn, table):
    t = table("pg3_copy")
    conn.execute(f"CREATE TABLE {t} (id integer NOT NULL, name text, amount numeric(8,2), day date)")
    rows = [
        (1, "plain", Decimal("1.50"), dt.date(2024, 1, 1)),
        (2, "tab\there and \\ backslash", None, dt.date(2024, 1, 2)),
        (3, None, Decimal("-0.01"), None),
    ]
    cur = conn.cursor()
    with cur.copy(f"COPY {t} (id, name, amount, day) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    assert cur.rowcount == 3
    assert conn.execute(f"SELECT * FROM {t} ORDER BY id").fetchall() == rows

    with cur.copy(f"COPY (SELECT id, name, amount, day FROM {t} ORDER BY id) TO STDOUT") as copy:
        # Without set_types every field comes back as the text PostgreSQL wrote.
        assert list(copy.rows()) == [
            ("1", "plain", "1.50", "2024-01-01"),
            ("2", "tab\there and \\ backslash", None, "2024-01-02"),
            ("3", None, "-0.01", None),
        ]

    with cur.copy(f"COPY (SELECT id, amount FROM {t} ORDER BY id) TO STDOUT") as copy:
        copy.set_types(["integer", "numeric"])
        assert list(copy.rows()) == [(1, Decimal("1.50")), (2, None), (3, Decimal("-0.01"))]

    with cur.copy(f"COPY {t} (id, name) TO STDOUT WITH (FORMAT csv)") as copy:
        text = b"".join(bytes(block) for block in copy).decode()
    assert sorted(text.splitlines()) == ["1,plain", "2,tab\there and \\ backslash", "3,"]


def test_copy_to_stdout_binary(conn, table):
    t = table("pg3_copybin")
    conn.execute(
        f"CREATE TABLE {t} (id bigint, name text, amount numeric(8,2), flag boolean, "
        f"day date, ts timestamp, tstz timestamptz, raw bytea, f double precision)"
    )
    rows = [
        (1, "one", Decimal("10.25"), True, dt.date(2024, 3, 1), dt.datetime(2024, 3, 1, 8, 30),
         dt.datetime(2024, 3, 1, 8, 30, tzinfo=UTC), b"\xde\xad", 0.5),
        (2, None, None, None, None, None, None, None, None),
    ]
    for row in rows:
        conn.execute(f"INSERT INTO {t} VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)", row)
    cur = conn.cursor()
    with cur.copy(f"COPY (SELECT * FROM {t} ORDER BY id) TO STDOUT (FORMAT BINARY)") as copy:
        copy.set_types(["bigint", "text", "numeric", "boolean", "date", "timestamp", "timestamptz", "bytea", "double precision"])
        got = []
        while (row := copy.read_row()) is not None:
            got.append(row)
    assert got == rows


def test_autocommit_and_transaction_blocks(table):
    t = table("pg3_tx")
    with psycopg.connect(DSN, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {t} (id integer)")
        assert conn.info.transaction_status == pq.TransactionStatus.IDLE
        conn.execute(f"INSERT INTO {t} VALUES (1)")
        assert conn.info.transaction_status == pq.TransactionStatus.IDLE
        with conn.transaction():
            conn.execute(f"INSERT INTO {t} VALUES (2)")
            assert conn.info.transaction_status == pq.TransactionStatus.INTRANS
            with conn.transaction():  # a savepoint
                conn.execute(f"INSERT INTO {t} VALUES (3)")
        assert conn.info.transaction_status == pq.TransactionStatus.IDLE

    with psycopg.connect(DSN) as conn:  # autocommit off: BEGIN before the first statement
        assert conn.autocommit is False
        conn.execute(f"INSERT INTO {t} VALUES (4)")
        assert conn.info.transaction_status == pq.TransactionStatus.INTRANS
        conn.commit()
        assert conn.info.transaction_status == pq.TransactionStatus.IDLE
        assert conn.execute(f"SELECT id FROM {t} ORDER BY id").fetchall() == [(1,), (2,), (3,), (4,)]
        conn.commit()


def test_server_side_cursors(table):
    # A named cursor is DECLARE … CURSOR FOR with bound parameters, a Describe of the
    # cursor as a portal, then FETCH FORWARD itersize at a time.
    t = table("pg3_cursor")
    with psycopg.connect(DSN) as c:
        c.execute(f"CREATE TABLE {t} (id integer, word text)")
        c.execute(f"INSERT INTO {t} SELECT n, 'w' || n FROM generate_series(1, 10) AS g(n)")
        c.commit()
        with c.cursor(name="pg3_cur") as cur:
            cur.itersize = 3
            cur.execute(f"SELECT id, word FROM {t} WHERE id > %s ORDER BY id", (4,))
            assert [(d.name, d.type_code) for d in cur.description] == [("id", 23), ("word", 25)]
            assert cur.fetchmany(2) == [(5, "w5"), (6, "w6")]
            assert [r[0] for r in cur] == [7, 8, 9, 10]
        c.commit()
        # WITH HOLD: still readable after the transaction that declared it commits.
        with c.cursor(name="pg3_held", withhold=True) as cur:
            cur.execute(f"SELECT id FROM {t} WHERE id <= %s ORDER BY id", (2,))
            c.commit()
            assert cur.fetchall() == [(1,), (2,)]


def test_error_sqlstate(conn, table):
    t = table("pg3_err")
    conn.execute(f"CREATE TABLE {t} (id integer NOT NULL)")

    with pytest.raises(psycopg.errors.UndefinedTable) as caught:
        conn.execute("SELECT * FROM pg3_no_such_table WHERE 1 = %s", (1,))
    assert caught.value.sqlstate == "42P01"
    assert caught.value.diag.severity == "ERROR"
    assert 'relation "pg3_no_such_table" does not exist' in caught.value.diag.message_primary

    with pytest.raises(psycopg.errors.UndefinedColumn) as caught:
        conn.execute(f"SELECT nope FROM {t}", prepare=True)
    assert caught.value.sqlstate == "42703"

    with pytest.raises(psycopg.errors.NotNullViolation) as caught:
        conn.execute(f"INSERT INTO {t} (id) VALUES (%s)", (None,))
    assert caught.value.sqlstate == "23502"

    with pytest.raises(psycopg.errors.DivisionByZero) as caught:
        conn.execute("SELECT 1 / %s::integer", (0,))
    assert caught.value.sqlstate == "22012"

    # The connection is still usable, for the same statements too.
    assert conn.info.transaction_status == pq.TransactionStatus.IDLE
    conn.execute(f"INSERT INTO {t} (id) VALUES (%s)", (5,))
    assert conn.execute(f"SELECT id FROM {t}").fetchall() == [(5,)]


def test_error_inside_transaction_then_rollback(table):
    t = table("pg3_err_tx")
    with psycopg.connect(DSN) as conn:
        conn.execute(f"CREATE TABLE {t} (id integer)")
        conn.commit()
        with pytest.raises(psycopg.errors.UndefinedColumn):
            conn.execute(f"SELECT missing FROM {t}")
        assert conn.info.transaction_status == pq.TransactionStatus.INERROR
        with pytest.raises(psycopg.errors.InFailedSqlTransaction):
            conn.execute("SELECT 1")
        conn.rollback()
        assert conn.execute("SELECT 1").fetchone() == (1,)
