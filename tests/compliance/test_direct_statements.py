"""A Direct statement (compliance/storage/direct.py) is the statement SQLAlchemy would run: the same
rows, converted the same way, the same count of changed rows, the same inserted key, the same
table afterwards, and the same typed errors; on SQLite it skips SQLAlchemy's per-call work, on
PostgreSQL it is SQLAlchemy's own execute. Each case runs twice on a fresh table, once through
`connection.execute` and once through `Direct`, and the two outcomes are compared."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.dialects.sqlite import dialect as sqlite_dialect
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from compliance.storage import create_engine_from_url
from compliance.storage.direct import Direct, DirectResult, execute_driver_sql
from compliance.storage.read_connections import read_connections
from compliance.storage.upsert import InsertIgnore

metadata = sa.MetaData()
# One table of each shape the turn's statements touch: an integer key SQLite assigns, a key given
# by the caller, datetimes (text on SQLite), bytes, and a column with a Python-side default.
counters = sa.Table(
    "direct_counters",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(32), nullable=False, unique=True),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("seen_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("blob", sa.LargeBinary, nullable=True),
    sa.Column("state", sa.String(16), nullable=False, default="new"),
)
named = sa.Table(
    "direct_named",
    metadata,
    sa.Column("key", sa.String(32), primary_key=True),
    sa.Column("value", sa.String(32), nullable=False),
)
AT = datetime(2026, 11, 29, 18, 30, 5, 123456, tzinfo=timezone.utc)
SEED = [
    {"name": "a", "count": 1, "seen_at": AT, "blob": b"\x00\xff", "state": "new"},
    {"name": "b", "count": 2, "seen_at": None, "blob": None, "state": "old"},
]


@dataclass(frozen=True)
class Case:
    name: str
    statement: Any
    params: Any = None


CASES = [
    Case(
        "select every column, datetimes and bytes converted",
        sa.select(counters).order_by(counters.c.seq),
    ),
    Case(
        "select with a bound parameter",
        sa.select(counters.c.name, counters.c.seen_at).where(counters.c.name == sa.bindparam("n")),
        {"n": "a"},
    ),
    Case("select nothing", sa.select(counters.c.seq).where(counters.c.count > 99)),
    Case(
        "update with a constant in the statement and a datetime bound",
        sa.update(counters)
        .where(counters.c.name == sa.bindparam("n"))
        .values(count=counters.c.count + 1, seen_at=sa.bindparam("at")),
        {"n": "b", "at": AT},
    ),
    Case(
        "update matching nothing",
        sa.update(counters).where(counters.c.name == "zz").values(count=0),
    ),
    Case(
        "insert, the key assigned by the database",
        sa.insert(counters),
        {"name": "c", "count": 3, "seen_at": AT, "state": "new"},
    ),
    Case("insert, the key given", sa.insert(named), {"key": "k1", "value": "v"}),
    Case(
        "insert of many rows",
        sa.insert(counters),
        [{"name": f"m{i}", "count": i, "seen_at": None, "state": "x"} for i in range(3)],
    ),
    Case(
        "insert unless the key exists, new",
        InsertIgnore(counters),
        {"name": "d", "count": 4, "seen_at": None, "state": "new"},
    ),
    Case(
        "insert unless the key exists, existing",
        InsertIgnore(counters),
        {"name": "a", "count": 9, "seen_at": None, "state": "new"},
    ),
    Case(
        "insert relying on a Python-side default (run by SQLAlchemy)",
        sa.insert(counters),
        {"name": "e", "count": 5},
    ),
    Case("delete", sa.delete(counters).where(counters.c.name == sa.bindparam("n")), {"n": "a"}),
]


@pytest.fixture
def db(engine: Engine) -> Iterator[Engine]:
    metadata.create_all(engine)
    yield engine
    metadata.drop_all(engine)


def reset(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(sa.delete(counters))
        connection.execute(sa.delete(named))
        connection.execute(sa.insert(counters), SEED)


def outcome(engine: Engine, run: Callable[[Connection], Any]) -> dict[str, Any]:
    """What a caller can observe of a statement: its rows (by column name), the rows it
    changed, the key it inserted, and the tables afterwards."""
    reset(engine)
    with engine.begin() as connection:
        result = run(connection)
        fetched = result.all() if _returns_rows(result) else []
        rows = [tuple(row) for row in fetched]
        names = list(fetched[0]._fields) if fetched else None
        seen = {
            "rows": rows,
            "fields": names,
            "rowcount": result.rowcount,
            "key": _inserted_key(result),
        }
    with engine.connect() as connection:  # as stored: SQLite's datetimes as their text
        seen["tables"] = [
            [tuple(r) for r in connection.exec_driver_sql(f"SELECT * FROM {t.name} ORDER BY 1")]
            for t in (counters, named)
        ]
    # The keys SQLite assigns keep counting between runs; compare them relative to the seed.
    return seen


def _returns_rows(result: Any) -> bool:
    return isinstance(result, DirectResult) or result.returns_rows


def _inserted_key(result: Any) -> Any:
    try:
        key = result.inserted_primary_key
    except Exception:  # noqa: BLE001 - SQLAlchemy raises unless the statement was one insert
        return None
    return tuple(key) if key else None


def relative(seen: dict[str, Any], engine: Engine) -> dict[str, Any]:
    with engine.connect() as connection:
        first = connection.execute(sa.select(sa.func.min(counters.c.seq))).scalar() or 0
    shift = lambda row: (row[0] - first, *row[1:])  # noqa: E731
    seen = dict(seen)
    seen["tables"] = [[shift(r) for r in seen["tables"][0]], seen["tables"][1]]
    if seen["rows"] and seen["fields"] and seen["fields"][0] == "seq":
        seen["rows"] = [shift(r) for r in seen["rows"]]
    if seen["key"] and isinstance(seen["key"][0], int):
        seen["key"] = (seen["key"][0] - first,)
    return seen


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_a_direct_statement_does_what_sqlalchemy_does(db: Engine, case: Case) -> None:
    expected = relative(outcome(db, lambda c: c.execute(case.statement, case.params)), db)
    direct = Direct(case.statement)
    for _ in range(2):  # compiled on the first run, reused on the second
        assert relative(outcome(db, lambda c: direct.execute(c, case.params)), db) == expected


def test_datetimes_come_back_as_sqlalchemy_gives_them(db: Engine) -> None:
    reset(db)
    direct = Direct(sa.select(counters.c.seen_at).where(counters.c.name == "a"))
    with db.connect() as connection:
        mine = direct.execute(connection).scalar()
        theirs = connection.execute(direct.statement).scalar()
    assert isinstance(mine, datetime) and mine == theirs


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.datetimes(),
        st.datetimes(timezones=st.just(timezone.utc)),
        st.datetimes(timezones=st.just(timezone(timedelta(hours=-7)))),
        st.dates(),
    )
)
def test_a_datetime_goes_in_as_sqlalchemy_writes_it(value: Any) -> None:
    """The isoformat path for SQLite's DATETIME (_fast_bind) against SQLAlchemy's own text."""
    dialect = sqlite_dialect()
    update = sa.update(counters).where(counters.c.name == "a").values(seen_at=sa.bindparam("at"))
    plan = Direct(update)._plan(dialect, ("at",))  # noqa: SLF001 - the compiled conversion
    sqlalchemy_text = counters.c.seen_at.type.dialect_impl(dialect).bind_processor(dialect)
    assert plan.binds[0].__name__ == "datetime_text"  # the fast path, not SQLAlchemy's
    assert plan.parameters({"at": value})[0] == sqlalchemy_text(value)


def test_one_row_or_none_as_sqlalchemy_says_it(db: Engine) -> None:
    reset(db)
    every = sa.select(counters.c.name)
    with db.connect() as connection:
        for statement, pick in (
            (every, "one"),
            (every, "one_or_none"),
            (every.where(counters.c.count > 99), "one"),
        ):
            with pytest.raises(Exception) as theirs:
                getattr(connection.execute(statement), pick)()
            with pytest.raises(type(theirs.value)):
                getattr(Direct(statement).execute(connection), pick)()


def test_a_missing_parameter_is_named(db: Engine) -> None:
    direct = Direct(sa.select(counters).where(counters.c.name == sa.bindparam("wanted")))
    with db.connect() as connection, pytest.raises(Exception, match="wanted"):
        direct.execute(connection, {})


def test_a_broken_constraint_is_sqlalchemys_integrity_error_and_rolls_back(db: Engine) -> None:
    reset(db)
    direct = Direct(sa.insert(counters))
    with pytest.raises(IntegrityError), db.begin() as connection:
        direct.execute(connection, {"name": "new", "count": 1, "state": "x"})
        direct.execute(connection, {"name": "a", "count": 1, "state": "x"})  # name is unique
    with db.connect() as connection:
        names = connection.execute(sa.select(counters.c.name).order_by(counters.c.name)).scalars()
        assert list(names) == ["a", "b"]


def test_statements_share_one_cursor_and_one_that_failed_leaves_no_broken_cursor_behind(
    db: Engine,
) -> None:
    """SQLite's connection lends Direct statements one cursor (sqlite_write_lock.py); SQLAlchemy
    closes the cursor of a statement that raised, and the next statement still runs."""
    reset(db)
    insert, count = Direct(sa.insert(counters)), Direct(sa.select(sa.func.count(counters.c.seq)))
    with db.connect() as connection:
        raw = connection.connection.driver_connection
        cursors = {id(raw.shared_cursor())} if db.dialect.name == "sqlite" else set()
        for n in range(3):
            insert.execute(connection, {"name": f"n{n}", "count": n, "state": "x"})
            if db.dialect.name == "sqlite":
                cursors.add(id(raw.shared_cursor()))
        assert len(cursors) == (1 if db.dialect.name == "sqlite" else 0)
        with pytest.raises(IntegrityError):
            insert.execute(connection, {"name": "a", "count": 1, "state": "x"})  # name is unique
        connection.rollback()
        assert count.execute(connection).scalar() == 2  # the inserts rolled back with it
        insert.execute(connection, {"name": "after", "count": 1, "state": "x"})
        assert count.execute(connection).scalar() == 3


def test_outside_a_transaction_it_begins_one_for_the_caller_to_commit(db: Engine) -> None:
    reset(db)
    direct = Direct(sa.update(counters).values(count=7))
    with db.connect() as connection:
        assert not connection.in_transaction()
        direct.execute(connection)
        assert connection.in_transaction()
        connection.commit()
    with db.connect() as connection:
        assert set(connection.execute(sa.select(counters.c.count)).scalars()) == {7}


def test_a_driver_error_in_plain_sql_is_sqlalchemys_error(tmp_path: Any) -> None:
    from compliance.storage import create_engine_from_url

    engine = create_engine_from_url(f"sqlite:///{tmp_path / 'plain.db'}")
    with engine.connect() as connection:
        execute_driver_sql(connection, "BEGIN IMMEDIATE")
        with pytest.raises(OperationalError, match="within a transaction"):
            execute_driver_sql(connection, "BEGIN IMMEDIATE")
        # As after any failed statement of SQLAlchemy's: the driver's transaction rolled back.
        assert not connection.connection.driver_connection.in_transaction
    engine.dispose()


READS = [case for case in CASES if isinstance(case.statement, sa.sql.Select)]


@pytest.mark.parametrize("case", READS, ids=lambda c: c.name)
def test_a_read_on_its_own_gives_what_sqlalchemy_gives(db: Engine, case: Case) -> None:
    reset(db)
    with db.connect() as connection:
        expected = connection.execute(case.statement, case.params).all()
    direct = Direct(case.statement)
    for _ in range(2):  # the second read reuses the idle connection the first gave back
        rows = direct.read(db, case.params).all()
        assert [tuple(r) for r in rows] == [tuple(r) for r in expected]
        assert [r._fields for r in rows] == [r._fields for r in expected]
    assert db.pool.checkedout() == 0  # nothing kept from the engine's pool


def test_a_read_on_its_own_sees_the_latest_commit(db: Engine) -> None:
    reset(db)
    direct = Direct(sa.select(counters.c.count).where(counters.c.name == "a"))
    assert direct.read(db).scalar() == 1
    with db.begin() as connection:
        connection.execute(sa.update(counters).where(counters.c.name == "a").values(count=5))
    assert direct.read(db).scalar() == 5


def test_a_failed_read_is_sqlalchemys_error_naming_the_cause(db: Engine) -> None:
    broken = Direct(sa.select(sa.column("nope")).select_from(sa.table("no_such_table")))
    with pytest.raises(sa.exc.DBAPIError, match="no_such_table"):
        broken.read(db)


def test_a_failed_read_closes_its_connection_and_the_next_read_gets_another(
    tmp_path: Any,
) -> None:
    sqlite = create_engine_from_url(f"sqlite:///{tmp_path / 'reads.db'}")  # reads kept: SQLite's
    metadata.create_all(sqlite)
    reset(sqlite)
    reads = read_connections(sqlite)
    with reads.borrowed() as idle:
        pass  # now the one idle connection: the failed read below takes it
    broken = Direct(sa.select(sa.column("nope")).select_from(sa.table("no_such_table")))
    with pytest.raises(sa.exc.DBAPIError):
        broken.read(sqlite)
    with pytest.raises(Exception, match="closed"):
        idle.execute("SELECT 1")
    count = Direct(sa.select(counters.c.count).where(counters.c.name == "a"))
    assert count.read(sqlite).scalar() == 1
    sqlite.dispose()
