"""SQLAlchemy 2 with the psycopg2 dialect (postgresql+psycopg2://) and the psycopg 3 dialect
(postgresql+psycopg://); every test runs with both
(the `engine` fixture in conftest.py).

Covers: engine.connect() (the dialect parses version() and reads current_schema(), the
isolation level and standard_conforming_strings), Core create_all/insert/select with a Table
object, the inspector (get_table_names, has_table, get_schema_names, get_view_names,
get_columns with names/types/nullable/defaults, get_pk_constraint), reflecting a Table with
autoload_with, an ORM session with begin_nested() (SAVEPOINT / RELEASE SAVEPOINT) committing,
and text() queries with bound parameters.
"""
import datetime as dt
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy import orm

UTC = dt.timezone.utc


def test_connect(engine):
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT 1 + 1")).scalar_one() == 2
        shown = conn.execute(sa.text("SHOW server_version")).scalar_one()
    # The dialect found the version in "PostgreSQL 16.6 ..." while connecting.
    major, minor = (int(p) for p in shown.split(" ")[0].split(".")[:2])
    assert engine.dialect.server_version_info[:2] == (major, minor)
    assert engine.dialect.default_schema_name == "public"
    assert engine.dialect.default_isolation_level == "READ COMMITTED"


def test_core_table_insert_select(engine, table):
    name = table("sa_core")
    meta = sa.MetaData()
    orders = sa.Table(
        name, meta,
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("customer", sa.String(20), nullable=False),
        sa.Column("amount", sa.Numeric(10, 2)),
        sa.Column("paid", sa.Boolean),
        sa.Column("placed", sa.Date),
        sa.Column("at", sa.DateTime(timezone=True)),
        sa.Column("ratio", sa.Float),
        sa.Column("note", sa.Text),
        sa.Column("payload", sa.LargeBinary),
    )
    meta.create_all(engine)
    rows = [
        dict(id=1, customer="ada", amount=Decimal("12.50"), paid=True, placed=dt.date(2024, 1, 1),
             at=dt.datetime(2024, 1, 1, 10, tzinfo=UTC), ratio=0.5, note="first", payload=b"\x01\x02"),
        dict(id=2, customer="bob", amount=Decimal("7.25"), paid=False, placed=dt.date(2024, 1, 2),
             at=None, ratio=None, note=None, payload=None),
        dict(id=3, customer="ada", amount=Decimal("100.00"), paid=None, placed=None,
             at=dt.datetime(2024, 1, 3, 23, 59, 59, 999999, tzinfo=UTC), ratio=-1.25, note="", payload=b""),
    ]
    with engine.begin() as conn:
        conn.execute(orders.insert(), rows)
        conn.execute(orders.insert().values(id=4, customer="cy"))

    with engine.connect() as conn:
        got = conn.execute(sa.select(orders).where(orders.c.id < 4).order_by(orders.c.id)).mappings().all()
        assert [dict(r) for r in got] == rows

        totals = conn.execute(
            sa.select(orders.c.customer, sa.func.count().label("n"), sa.func.sum(orders.c.amount).label("total"))
            .group_by(orders.c.customer)
            .order_by(orders.c.customer)
        ).all()
        assert totals == [("ada", 2, Decimal("112.50")), ("bob", 1, Decimal("7.25")), ("cy", 1, None)]

        ids = conn.execute(
            sa.select(orders.c.id).where(orders.c.customer.in_(["bob", "cy"])).order_by(orders.c.id.desc())
        ).scalars().all()
        assert ids == [4, 2]
        assert conn.execute(sa.select(orders.c.note).where(orders.c.id == 4)).scalar_one() is None
        assert conn.execute(sa.select(sa.func.count()).select_from(orders)).scalar_one() == 4


INSPECTED_DDL = """CREATE TABLE {name} (
    id integer NOT NULL,
    name varchar(20) DEFAULT 'x',
    amount numeric(10,2) DEFAULT 0,
    paid boolean DEFAULT false,
    n bigint DEFAULT 7,
    f double precision,
    r real,
    s smallint,
    at timestamptz,
    ts timestamp,
    d date,
    note text NOT NULL,
    raw bytea
)"""

INSPECTED_COLUMNS = [
    # name, type, nullable, default (as pg_get_expr prints it)
    ("id", "INTEGER()", False, None),
    ("name", "VARCHAR(length=20)", True, "'x'::character varying"),
    ("amount", "NUMERIC(precision=10, scale=2)", True, "0"),
    ("paid", "BOOLEAN()", True, "false"),
    ("n", "BIGINT()", True, "7"),
    ("f", "DOUBLE_PRECISION(precision=53)", True, None),
    ("r", "REAL()", True, None),
    ("s", "SMALLINT()", True, None),
    ("at", "TIMESTAMP(timezone=True)", True, None),
    ("ts", "TIMESTAMP()", True, None),
    ("d", "DATE()", True, None),
    ("note", "TEXT()", False, None),
    ("raw", "BYTEA()", True, None),
]


def test_inspector_tables_and_schemas(engine, table):
    name = table("sa_insp")
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE TABLE {name} (id integer)"))
    insp = sa.inspect(engine)
    assert name in insp.get_table_names()
    assert insp.has_table(name)
    assert insp.has_table(name, schema="public")
    assert not insp.has_table("sa_no_such_table")
    # The dialect leaves out pg_catalog, pg_toast and the other pg_* schemas.
    assert insp.get_schema_names() == ["information_schema", "public"]
    # No views in public (information_schema's views live in their own schema).
    assert insp.get_view_names() == []


def test_inspector_get_columns(engine, table):
    name = table("sa_cols")
    with engine.begin() as conn:
        conn.execute(sa.text(INSPECTED_DDL.format(name=name)))
    columns = sa.inspect(engine).get_columns(name)
    assert [(c["name"], repr(c["type"]), c["nullable"], c["default"]) for c in columns] == INSPECTED_COLUMNS


def test_inspector_primary_key(engine, table):
    with_pk = table("sa_pk")
    without_pk = table("sa_nopk")
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE TABLE {with_pk} (id integer NOT NULL, name text, PRIMARY KEY (id))"))
        conn.execute(sa.text(f"CREATE TABLE {without_pk} (id integer)"))
    insp = sa.inspect(engine)
    assert insp.get_pk_constraint(with_pk)["constrained_columns"] == ["id"]
    assert insp.get_pk_constraint(without_pk)["constrained_columns"] == []
    assert insp.get_indexes(with_pk) == []
    assert insp.get_foreign_keys(with_pk) == []


def test_reflect_table(engine, table):
    name = table("sa_reflect")
    with engine.begin() as conn:
        conn.execute(sa.text(INSPECTED_DDL.format(name=name)))
        conn.execute(sa.text(f"INSERT INTO {name} (id, note) VALUES (1, 'n')"))
    reflected = sa.Table(name, sa.MetaData(), autoload_with=engine)
    assert [c.name for c in reflected.columns] == [c[0] for c in INSPECTED_COLUMNS]
    assert isinstance(reflected.c.amount.type, sa.Numeric) and reflected.c.amount.type.scale == 2
    assert reflected.c.note.nullable is False
    with engine.connect() as conn:
        row = conn.execute(sa.select(reflected.c.id, reflected.c.name, reflected.c.amount, reflected.c.paid)).one()
    assert row == (1, "x", Decimal("0.00"), False)


def test_session_begin_nested(engine, table):
    name = table("sa_orm")

    class Base(orm.DeclarativeBase):
        pass

    class Item(Base):
        __tablename__ = name
        id = sa.Column(sa.Integer, primary_key=True, autoincrement=False)
        label = sa.Column(sa.String(30), nullable=False)
        price = sa.Column(sa.Numeric(8, 2))

    # The table has no primary key on the server: the ORM only needs one in the mapping.
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE TABLE {name} (id integer NOT NULL, label varchar(30) NOT NULL, price numeric(8,2))"))

    with orm.Session(engine) as session:
        with session.begin():
            session.add(Item(id=1, label="outer", price=Decimal("1.00")))
            with session.begin_nested():  # SAVEPOINT sa_savepoint_1 ... RELEASE SAVEPOINT sa_savepoint_1
                session.add_all([Item(id=2, label="nested", price=Decimal("2.50")), Item(id=3, label="nested too")])
            assert session.get(Item, 2).label == "nested"

    with orm.Session(engine) as session:
        items = session.scalars(sa.select(Item).order_by(Item.id)).all()
        assert [(i.id, i.label, i.price) for i in items] == [
            (1, "outer", Decimal("1.00")), (2, "nested", Decimal("2.50")), (3, "nested too", None),
        ]
        assert session.scalar(sa.select(sa.func.sum(Item.price))) == Decimal("3.50")


def test_text_with_bound_parameters(engine, table):
    name = table("sa_text")
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE TABLE {name} (id integer, name text, day date, at timestamptz)"))
        conn.execute(
            sa.text(f"INSERT INTO {name} (id, name, day, at) VALUES (:id, :name, :day, :at)"),
            [
                {"id": 1, "name": "o'neil", "day": dt.date(2024, 5, 1), "at": dt.datetime(2024, 5, 1, 9, tzinfo=UTC)},
                {"id": 2, "name": "plain", "day": dt.date(2024, 5, 2), "at": None},
                {"id": 3, "name": None, "day": None, "at": None},
            ],
        )
    with engine.connect() as conn:
        got = conn.execute(
            sa.text(f"SELECT id, name, day, at FROM {name} WHERE id >= :low AND day <= :until ORDER BY id"),
            {"low": 1, "until": dt.date(2024, 12, 31)},
        ).all()
        assert got == [
            (1, "o'neil", dt.date(2024, 5, 1), dt.datetime(2024, 5, 1, 9, tzinfo=UTC)),
            (2, "plain", dt.date(2024, 5, 2), None),
        ]
        stmt = sa.text(f"SELECT name FROM {name} WHERE id IN :ids ORDER BY id").bindparams(sa.bindparam("ids", expanding=True))
        assert conn.execute(stmt, {"ids": [1, 3]}).scalars().all() == ["o'neil", None]
        assert conn.execute(sa.text("SELECT :a || :b"), {"a": "x", "b": "y"}).scalar_one() == "xy"
