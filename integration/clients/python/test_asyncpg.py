"""asyncpg (its own protocol code: named prepared statements, Parse/Describe followed by Flush
without Sync, binary results for every type, type introspection through pg_catalog).

Covers: connect and server version, fetch/fetchrow/fetchval with parameters of several types,
prepare() and a prepared statement fetched repeatedly with its parameter and attribute types,
executemany, COPY through copy_records_to_table (binary COPY FROM), copy_to_table (csv COPY
FROM), copy_from_query and copy_from_table (COPY TO into a BytesIO), transaction blocks with a
savepoint, timestamptz/numeric columns as datetime/Decimal, a custom type codec (which makes
asyncpg introspect the type in pg_type), a pool (whose release runs asyncpg's reset query) and
errors with their sqlstate.
"""
import asyncio
import contextlib
import datetime as dt
import functools
import io
from decimal import Decimal

import asyncpg
import pytest

from conftest import URL

UTC = dt.timezone.utc


def async_test(fn):
    """Run an async test function to completion in its own event loop."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return asyncio.run(asyncio.wait_for(fn(*args, **kwargs), timeout=60))

    return wrapper


@contextlib.asynccontextmanager
async def connect():
    conn = await asyncpg.connect(URL)
    try:
        yield conn
    finally:
        await conn.close()


@async_test
async def test_connect_and_version():
    async with connect() as conn:
        version = conn.get_server_version()
        shown = await conn.fetchval("SHOW server_version")
        # asyncpg reads "16.6" as major 16, minor 0, micro 6 (versions 10 and later have two parts).
        major, minor = shown.split(" ")[0].split(".")[:2]
        assert (version.major, version.minor, version.micro) == (int(major), 0, int(minor))
        assert version.major >= 10
        assert conn.get_settings().client_encoding == "UTF8"
        assert await conn.fetchval("SELECT 41 + 1") == 42


@async_test
async def test_fetch_with_parameters():
    async with connect() as conn:
        row = await conn.fetchrow(
            "SELECT $1::smallint AS s, $2::integer AS i, $3::bigint AS b, $4::real AS r, "
            "$5::double precision AS d, $6::numeric AS n, $7::text AS t, $8::varchar AS v, "
            "$9::boolean AS ok, $10::date AS day, $11::timestamp AS ts, $12::timestamptz AS tstz, "
            "$13::bytea AS raw, $14::integer AS missing",
            -5, 2**31 - 1, -(2**62), 0.25, 1e100, Decimal("-98765.4321"), "tëxt", "vc",
            False, dt.date(2000, 1, 1), dt.datetime(2000, 1, 1, 0, 0, 0, 1),
            dt.datetime(2000, 1, 1, 12, tzinfo=UTC), b"\x00\xff", None,
        )
        assert list(row.keys()) == ["s", "i", "b", "r", "d", "n", "t", "v", "ok", "day", "ts", "tstz", "raw", "missing"]
        assert tuple(row) == (
            -5, 2**31 - 1, -(2**62), 0.25, 1e100, Decimal("-98765.4321"), "tëxt", "vc",
            False, dt.date(2000, 1, 1), dt.datetime(2000, 1, 1, 0, 0, 0, 1),
            dt.datetime(2000, 1, 1, 12, tzinfo=UTC), b"\x00\xff", None,
        )
        assert await conn.fetchval("SELECT upper($1)", "abc") == "ABC"
        assert await conn.fetchval("SELECT $1::integer * 2", 21) == 42
        rows = await conn.fetch("SELECT x, x * $1::bigint AS y FROM (VALUES (1), (2), (3)) AS v(x) ORDER BY x", 10)
        assert [tuple(r) for r in rows] == [(1, 10), (2, 20), (3, 30)]
        assert await conn.fetchrow("SELECT 1 WHERE false") is None


@async_test
async def test_table_types_come_back_as_python_types(table):
    t = table("apg_types")
    async with connect() as conn:
        await conn.execute(
            f"CREATE TABLE {t} (id integer NOT NULL, amount numeric(12,4), at timestamptz, "
            f"local timestamp, day date, name varchar(10), flag boolean, raw bytea, f real)"
        )
        at = dt.datetime(2024, 6, 1, 18, 30, 15, 500000, tzinfo=UTC)
        status = await conn.execute(
            f"INSERT INTO {t} VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9), (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)",
            1, Decimal("1234.5678"), at, at.replace(tzinfo=None), at.date(), "name", True, b"bin", 2.5,
        )
        assert status == "INSERT 0 2"
        rows = await conn.fetch(f"SELECT * FROM {t} ORDER BY id")
        first = rows[0]
        assert isinstance(first["amount"], Decimal) and first["amount"] == Decimal("1234.5678")
        assert isinstance(first["at"], dt.datetime) and first["at"] == at
        assert first["at"].utcoffset() is not None
        assert first["local"] == dt.datetime(2024, 6, 1, 18, 30, 15, 500000)
        assert first["local"].tzinfo is None
        assert tuple(first) == (1, Decimal("1234.5678"), at, at.replace(tzinfo=None), dt.date(2024, 6, 1), "name", True, b"bin", 2.5)
        assert tuple(rows[1]) == (2,) + (None,) * 8
        # numeric keeps its scale in binary format too.
        assert str(await conn.fetchval(f"SELECT amount FROM {t} WHERE id = 1")) == "1234.5678"
        assert str(await conn.fetchval("SELECT 2.50::numeric(6,2)")) == "2.50"


@async_test
async def test_prepare_and_fetch_repeatedly(table):
    t = table("apg_prep")
    async with connect() as conn:
        await conn.execute(f"CREATE TABLE {t} (id bigint NOT NULL, name text, price numeric(8,2))")
        await conn.execute(f"INSERT INTO {t} VALUES (1, 'a', 1.10), (2, 'b', 2.20), (3, 'c', 3.30)")
        stmt = await conn.prepare(f"SELECT id, name, price FROM {t} WHERE id >= $1 ORDER BY id")
        assert [p.name for p in stmt.get_parameters()] == ["int8"]
        assert [(a.name, a.type.name) for a in stmt.get_attributes()] == [
            ("id", "int8"), ("name", "text"), ("price", "numeric"),
        ]
        for _ in range(3):
            for low in (1, 2, 3, 4):
                rows = await stmt.fetch(low)
                assert [r["id"] for r in rows] == list(range(low, 4))
        assert await stmt.fetchrow(3) == (3, "c", Decimal("3.30"))
        assert await stmt.fetchval(2, column=2) == Decimal("2.20")

        # The statement cache: the same query text reuses its prepared statement.
        for i in range(5):
            assert await conn.fetchval(f"SELECT name FROM {t} WHERE id = $1", i % 3 + 1) == "abc"[i % 3]

        # Reading through a cursor needs a transaction (portal kept across Execute messages).
        async with conn.transaction():
            got = [r["id"] async for r in conn.cursor(f"SELECT id FROM {t} ORDER BY id", prefetch=2)]
        assert got == [1, 2, 3]


@async_test
async def test_executemany(table):
    t = table("apg_many")
    async with connect() as conn:
        await conn.execute(f"CREATE TABLE {t} (id integer NOT NULL, label text, at date)")
        rows = [(i, f"label {i}", dt.date(2024, 1, 1) + dt.timedelta(days=i)) for i in range(100)]
        await conn.executemany(f"INSERT INTO {t} VALUES ($1, $2, $3)", rows)
        assert await conn.fetchval(f"SELECT count(*) FROM {t}") == 100
        got = await conn.fetch(f"SELECT id, label, at FROM {t} ORDER BY id")
        assert [tuple(r) for r in got] == rows


@async_test
async def test_copy_records_to_table(table):
    """asyncpg sends COPY ... FROM STDIN (FORMAT binary) for this."""
    t = table("apg_copyin")
    async with connect() as conn:
        await conn.execute(f"CREATE TABLE {t} (id bigint, name text, amount numeric(8,2), at timestamptz, day date, flag boolean)")
        records = [
            (1, "one", Decimal("1.50"), dt.datetime(2024, 1, 1, tzinfo=UTC), dt.date(2024, 1, 1), True),
            (2, None, None, None, None, None),
        ]
        status = await conn.copy_records_to_table(t, records=records)
        assert status == "COPY 2"
        got = await conn.fetch(f"SELECT * FROM {t} ORDER BY id")
        assert [tuple(r) for r in got] == records


@async_test
async def test_copy_to_table_csv(table):
    t = table("apg_copycsv")
    async with connect() as conn:
        await conn.execute(f"CREATE TABLE {t} (id integer, name text, amount numeric(6,2))")
        source = io.BytesIO(b'id,name,amount\n1,ann,1.25\n2,"b, c",\n')
        status = await conn.copy_to_table(t, source=source, format="csv", header=True)
        assert status == "COPY 2"
        got = await conn.fetch(f"SELECT id, name, amount FROM {t} ORDER BY id")
        assert [tuple(r) for r in got] == [(1, "ann", Decimal("1.25")), (2, "b, c", None)]


@async_test
async def test_copy_from_query_and_table(table):
    t = table("apg_copyout")
    async with connect() as conn:
        await conn.execute(f"CREATE TABLE {t} (id integer, name text, day date)")
        await conn.execute(f"INSERT INTO {t} VALUES (1, 'one', '2024-01-01'), (2, NULL, '2024-01-02'), (3, 'x,y', NULL)")

        out = io.BytesIO()
        status = await conn.copy_from_query(f"SELECT id, name FROM {t} ORDER BY id", output=out)
        assert status == "COPY 3"
        assert out.getvalue() == b"1\tone\n2\t\\N\n3\tx,y\n"

        out = io.BytesIO()
        status = await conn.copy_from_table(t, columns=["id", "name"], output=out, format="csv")
        assert status == "COPY 3"
        assert sorted(out.getvalue().splitlines()) == [b"1,one", b"2,", b'3,"x,y"']


@async_test
async def test_copy_from_query_with_arguments(table):
    """asyncpg inlines the arguments first: SELECT quote_literal($1::"pg_catalog"."int4"::text)."""
    t = table("apg_copyargs")
    async with connect() as conn:
        await conn.execute(f"CREATE TABLE {t} (id integer, name text, day date)")
        await conn.execute(f"INSERT INTO {t} VALUES (1, 'one', '2024-01-01'), (2, NULL, '2024-01-02'), (3, 'x,y', NULL)")
        out = io.BytesIO()
        status = await conn.copy_from_query(
            f"SELECT id, name, day FROM {t} WHERE id >= $1 AND name IS DISTINCT FROM $2 ORDER BY id",
            2, "it's", output=out, format="csv", header=True,
        )
        assert status == "COPY 2"
        assert out.getvalue() == b'id,name,day\n2,,2024-01-02\n3,"x,y",\n'


@async_test
async def test_transaction_block(table):
    t = table("apg_tx")
    async with connect() as conn:
        await conn.execute(f"CREATE TABLE {t} (id integer)")
        async with conn.transaction():
            assert conn.is_in_transaction()
            await conn.execute(f"INSERT INTO {t} VALUES (1)")
            async with conn.transaction():  # SAVEPOINT ... RELEASE SAVEPOINT
                await conn.execute(f"INSERT INTO {t} VALUES (2)")
            assert conn.is_in_transaction()
        assert not conn.is_in_transaction()
        assert await conn.fetch(f"SELECT id FROM {t} ORDER BY id") == [(1,), (2,)]

        tr = conn.transaction(isolation="read_committed")
        await tr.start()
        await conn.execute(f"INSERT INTO {t} VALUES (3)")
        await tr.commit()
        assert await conn.fetchval(f"SELECT count(*) FROM {t}") == 3


@async_test
async def test_type_codec_introspection():
    async with connect() as conn:
        # set_type_codec looks the type up in pg_catalog.pg_type and pg_namespace.
        await conn.set_type_codec("numeric", encoder=str, decoder=str, schema="pg_catalog", format="text")
        assert await conn.fetchval("SELECT 2.50::numeric(6,2)") == "2.50"
        assert await conn.fetchval("SELECT amount FROM (VALUES ($1::numeric(6,2))) AS v(amount)", "1.5") == "1.50"


@async_test
async def test_pool_reset_on_release():
    pool = await asyncpg.create_pool(URL, min_size=1, max_size=2)
    try:
        for i in range(3):
            # Releasing the connection runs asyncpg's reset query
            # (pg_advisory_unlock_all(), CLOSE ALL, UNLISTEN *, RESET ALL).
            async with pool.acquire() as conn:
                await conn.execute("SET application_name = 'apg-pool'")
                assert await conn.fetchval("SHOW application_name") == "apg-pool"
                assert await conn.fetchval("SELECT $1::text", str(i)) == str(i)
        async with pool.acquire() as conn:
            assert await conn.fetchval("SHOW application_name") == ""
    finally:
        await pool.close()


@async_test
async def test_errors(table):
    t = table("apg_err")
    async with connect() as conn:
        await conn.execute(f"CREATE TABLE {t} (id integer NOT NULL)")
        with pytest.raises(asyncpg.UndefinedTableError) as caught:
            await conn.fetch("SELECT * FROM apg_no_such_table WHERE 1 = $1", 1)
        assert caught.value.sqlstate == "42P01"
        with pytest.raises(asyncpg.UndefinedColumnError) as caught:
            await conn.prepare(f"SELECT nope FROM {t}")
        assert caught.value.sqlstate == "42703"
        with pytest.raises(asyncpg.NotNullViolationError) as caught:
            await conn.execute(f"INSERT INTO {t} VALUES ($1)", None)
        assert caught.value.sqlstate == "23502"
        with pytest.raises(asyncpg.PostgresSyntaxError) as caught:
            await conn.execute("SELEC 1")
        assert caught.value.sqlstate == "42601"
        # Still usable, including a statement that failed before.
        await conn.execute(f"INSERT INTO {t} VALUES ($1)", 7)
        assert await conn.fetchval(f"SELECT id FROM {t}") == 7
