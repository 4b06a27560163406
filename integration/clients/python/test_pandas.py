"""pandas through SQLAlchemy engines (psycopg2 and psycopg 3 dialects, the `engine` fixture in
conftest.py).

Covers: DataFrame.to_sql(if_exists='append', index=False) into a table created beforehand, with
the default executemany and with method='multi' (multi-row VALUES); to_sql(if_exists='replace'),
which creates the table itself from the frame's dtypes and drops it to replace it; pd.read_sql
with a query, with bound parameters (text() and driver-style), with parse_dates; read_sql_table
(which reflects the table); the dtypes and values that come back, compared exactly.
"""
import datetime as dt
from decimal import Decimal

import pandas as pd
import sqlalchemy as sa

UTC = dt.timezone.utc


def frame():
    return pd.DataFrame(
        {
            "id": [1, 2, 3],
            "name": ["ann", None, "o'neil"],
            "x": [0.5, None, -2.25],
            "flag": [True, False, True],
            "day": [dt.date(2024, 1, 1), dt.date(2024, 2, 29), None],
            "ts": pd.to_datetime(["2024-01-01 10:00:00", "2024-01-02 00:00:00.5", None], format="ISO8601"),
            "tz": pd.to_datetime(["2024-01-01 10:00:00", "2024-01-02 00:00:00", "2024-12-31 23:59:59"]).tz_localize("UTC"),
            "amount": [Decimal("1.50"), None, Decimal("-3.25")],
        }
    )


def column_types(engine, table_name):
    with engine.connect() as conn:
        return conn.execute(
            sa.text(
                "SELECT attname, format_type(atttypid, atttypmod) FROM pg_catalog.pg_attribute "
                "WHERE attrelid = CAST(:t AS regclass) AND attnum > 0 ORDER BY attnum"
            ),
            {"t": table_name},
        ).all()


def test_to_sql_append(engine, table):
    t = table("pd_append")
    with engine.begin() as conn:
        conn.execute(sa.text(
            f"CREATE TABLE {t} (id bigint NOT NULL, name text, x double precision, flag boolean, "
            f"day date, ts timestamp, tz timestamptz, amount numeric(10,2))"
        ))
    df = frame()
    # pandas would take the object column of Decimals for strings (psycopg 3 then sends ::VARCHAR).
    types = {"amount": sa.Numeric(10, 2)}
    df.to_sql(t, engine, if_exists="append", index=False, dtype=types)
    later = df.assign(id=df["id"] + 10)
    later.to_sql(t, engine, if_exists="append", index=False, dtype=types, method="multi", chunksize=2)

    got = pd.read_sql(f"SELECT * FROM {t} ORDER BY id", engine)
    assert {c: str(d) for c, d in got.dtypes.items()} == {
        "id": "int64",
        "name": "str",
        "x": "float64",
        "flag": "bool",
        "day": "object",
        "ts": "datetime64[us]",
        "tz": "datetime64[us, UTC]",
        "amount": "float64",  # read_sql's coerce_float turns Decimal into float
    }
    expected = pd.concat([df, later], ignore_index=True)
    expected["amount"] = expected["amount"].astype("float64")
    pd.testing.assert_frame_equal(got, expected)
    assert got["ts"][1] == pd.Timestamp("2024-01-02 00:00:00.5")
    assert got["tz"][2] == pd.Timestamp("2024-12-31 23:59:59", tz="UTC")

    exact = pd.read_sql(f"SELECT amount FROM {t} WHERE id IN (1, 3) ORDER BY id", engine, coerce_float=False)
    assert exact["amount"].tolist() == [Decimal("1.50"), Decimal("-3.25")]


def test_to_sql_replace(engine, table):
    t = table("pd_replace")
    first = frame()[["id", "name", "x", "flag", "ts", "tz"]]
    first.to_sql(t, engine, if_exists="replace", index=False)  # creates the table
    assert column_types(engine, t) == [
        ("id", "bigint"),
        ("name", "text"),
        ("x", "double precision"),
        ("flag", "boolean"),
        ("ts", "timestamp without time zone"),
        ("tz", "timestamp with time zone"),
    ]
    pd.testing.assert_frame_equal(pd.read_sql(f"SELECT * FROM {t} ORDER BY id", engine), first)

    second = pd.DataFrame({"id": [7, 8], "label": ["seven", "eight"]})
    second.to_sql(t, engine, if_exists="replace", index=False)  # drops and creates it again
    assert column_types(engine, t) == [("id", "bigint"), ("label", "text")]
    pd.testing.assert_frame_equal(pd.read_sql(f"SELECT * FROM {t} ORDER BY id", engine), second)


def test_read_sql_with_params(engine, table):
    t = table("pd_params")
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE TABLE {t} (id integer, name text, at timestamp)"))
        conn.execute(sa.text(
            f"INSERT INTO {t} VALUES (1, 'a', '2024-01-01 00:00:00'), (2, 'b', '2024-06-01 12:00:00'), "
            f"(3, 'c', '2025-01-01 00:00:00')"
        ))

    got = pd.read_sql(sa.text(f"SELECT id, name FROM {t} WHERE id >= :low AND name <> :skip ORDER BY id"), engine,
                      params={"low": 2, "skip": "c"})
    pd.testing.assert_frame_equal(got, pd.DataFrame({"id": [2], "name": ["b"]}))

    # Driver-style placeholders (pyformat for both drivers) go through exec_driver_sql.
    got = pd.read_sql(f"SELECT id, at FROM {t} WHERE at < %(until)s ORDER BY id", engine,
                      params={"until": dt.datetime(2024, 12, 31)})
    expected = pd.DataFrame({"id": [1, 2], "at": pd.to_datetime(["2024-01-01 00:00:00", "2024-06-01 12:00:00"])})
    pd.testing.assert_frame_equal(got, expected)

    got = pd.read_sql(f"SELECT id, CAST(at AS text) AS at FROM {t} ORDER BY id", engine, parse_dates=["at"],
                      index_col="id")
    assert got.index.tolist() == [1, 2, 3]
    assert str(got["at"].dtype).startswith("datetime64")
    assert got["at"].tolist() == [pd.Timestamp("2024-01-01"), pd.Timestamp("2024-06-01 12:00"), pd.Timestamp("2025-01-01")]

    got = pd.read_sql(
        "SELECT 1::bigint AS a, 2::integer AS b, 3::smallint AS c, 1.5::real AS r, "
        "CAST('2024-01-01' AS date) AS d, CAST(NULL AS integer) AS n, true AS t",
        engine,
    )
    assert {c: str(d) for c, d in got.dtypes.items()} == {
        "a": "int64", "b": "int64", "c": "int64", "r": "float64", "d": "object", "n": "object", "t": "bool",
    }
    assert got.iloc[0].tolist() == [1, 2, 3, 1.5, dt.date(2024, 1, 1), None, True]


def test_read_sql_table(engine, table):
    t = table("pd_table")
    pd.DataFrame({"id": [1, 2], "name": ["a", "b"]}).to_sql(t, engine, if_exists="append", index=False)
    got = pd.read_sql_table(t, engine)  # reflects the table's columns through the inspector
    pd.testing.assert_frame_equal(got, pd.DataFrame({"id": [1, 2], "name": ["a", "b"]}))
