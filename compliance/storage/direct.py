"""The statements on every turn's path, run on SQLite's own cursor: `Direct(statement).execute`.

Why: SQLAlchemy Core costs about 10 to 20 us of Python per statement on top of what SQLite needs
to run it (execution context, parameter construction, result wrapping), and a WhatsApp turn runs
about twenty of them: with the transactions' share, a fifth of the compliance work of a turn
(docs/benchmarks.md, issue 4; bench/direct_statements_bench.py).
A `Direct` statement is still written, and compiled, by SQLAlchemy, once per form: the same SQL,
the same parameter order, the same type conversions (SQLite's datetimes as text); only the
per-call bookkeeping is skipped. It runs in the caller's SQLAlchemy transaction, on its driver
connection (so the write lock of sqlite_write_lock.py and the commit are SQLAlchemy's as
before), and a driver error is raised as SQLAlchemy would raise it (IntegrityError, a
disconnect invalidating the connection), so `storage_errors` and the callers' retries hold.

The cursor is the one the connection lends every Direct statement
(`WriteLockedConnection.shared_cursor`, on compliance.storage's engines), since every statement
here fetches its rows at once; a statement that raised leaves the connection to make a new one.

On PostgreSQL a statement runs through SQLAlchemy unchanged: the measured cost is SQLite's, and
psycopg2's many-row inserts and RETURNING are best left to SQLAlchemy's own handling.

A form that needs SQLAlchemy at execution time (a Python-side column default to fill in,
RETURNING) runs through SQLAlchemy too: that is decided once, when the form is first compiled.
"""

from __future__ import annotations

import threading
from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NoReturn

from sqlalchemy.dialects.sqlite import DATETIME as SQLITE_DATETIME
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.exc import DBAPIError, MultipleResultsFound, NoResultFound
from sqlalchemy.sql import Executable

from compliance.storage.read_connections import read_connections
from compliance.storage.sqlite_write_lock import WriteLockedConnection

Params = Mapping[str, Any]
_Processor = Callable[[Any], Any] | None


@dataclass(frozen=True)
class _Plan:
    """One compiled form of a statement: its SQL, where each parameter comes from, and the
    conversions SQLAlchemy would apply to the values going in and coming out."""

    sql: str
    names: tuple[str, ...]  # the positional parameters, in order
    constants: Mapping[str, Any]  # values fixed in the statement (`count + 1`)
    binds: tuple[_Processor, ...]
    row: Callable[..., tuple[Any, ...]] | None  # a named tuple of the result columns
    results: tuple[_Processor, ...]
    primary_key: tuple[str, ...] | None  # an INSERT's key columns, else None
    plain: bool = field(init=False)  # no value is converted on its way in

    def __post_init__(self) -> None:
        object.__setattr__(self, "plain", not any(self.binds))

    def parameters(self, params: Params) -> tuple[Any, ...]:
        if self.plain:  # every value given, none converted: the turn's usual statement
            try:
                return tuple([params[name] for name in self.names])
            except KeyError:
                pass  # a constant of the statement, or a value missing: named below
        values = []
        for name, convert in zip(self.names, self.binds, strict=True):
            if name in params:
                value = params[name]
            elif name in self.constants:
                value = self.constants[name]
            else:
                raise KeyError(f"a value is required for bind parameter {name!r}")
            values.append(value if convert is None or value is None else convert(value))
        return tuple(values)

    def rows(self, raw: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        assert self.row is not None
        if any(self.results):
            raw = [
                tuple(
                    v if f is None or v is None else f(v)
                    for f, v in zip(self.results, r, strict=True)
                )
                for r in raw
            ]
        return [self.row(*r) for r in raw]


class DirectResult:
    """What the callers read of a statement's result: its rows, count of changed rows, and the
    key of a row it inserted; the subset of SQLAlchemy's CursorResult they use."""

    def __init__(
        self, rows: list[tuple[Any, ...]], rowcount: int, inserted_key: tuple[Any, ...] = ()
    ) -> None:
        self._rows = rows
        self.rowcount = rowcount
        self.inserted_primary_key = inserted_key

    def all(self) -> list[tuple[Any, ...]]:
        return self._rows

    def first(self) -> tuple[Any, ...] | None:
        return self._rows[0] if self._rows else None

    def one_or_none(self) -> tuple[Any, ...] | None:
        if len(self._rows) > 1:
            raise MultipleResultsFound("Multiple rows were found when one or none was required")
        return self.first()

    def one(self) -> tuple[Any, ...]:
        if not self._rows:
            raise NoResultFound("No row was found when one was required")
        if len(self._rows) > 1:
            raise MultipleResultsFound("Multiple rows were found when exactly one was required")
        return self._rows[0]

    def scalar(self) -> Any:
        row = self.first()
        return None if row is None else row[0]

    def scalars(self) -> list[Any]:
        return [row[0] for row in self._rows]


class Direct:
    """A Core statement whose executions on SQLite skip SQLAlchemy's per-call work."""

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._plans: dict[tuple[str, tuple[str, ...]], _Plan | None] = {}
        self._lock = threading.Lock()

    def execute(
        self, connection: Connection, params: Params | Sequence[Params] | None = None
    ) -> Any:
        """Run in `connection`'s transaction (begun if none is): a DirectResult on SQLite, else
        SQLAlchemy's own result. A list of parameter sets runs as one executemany."""
        if connection.dialect.name != "sqlite":
            return connection.execute(self.statement, params)
        many = isinstance(params, (list, tuple))  # cheaper than an ABC's check, every call
        first: Params = (params[0] if params else {}) if many else (params or {})  # type: ignore[index,assignment]
        plan = self._plan(connection.dialect, tuple(first))
        if plan is None:
            return connection.execute(self.statement, params)
        if not connection.in_transaction():
            connection.begin()  # as SQLAlchemy's 2.0-style execute does: the caller commits
        raw = connection.connection.driver_connection
        cursor, shared = _cursor_of(raw)
        try:
            if many:
                cursor.executemany(plan.sql, [plan.parameters(p) for p in params])  # type: ignore[union-attr]
            else:
                cursor.execute(plan.sql, plan.parameters(first))
            rows = plan.rows(cursor.fetchall()) if plan.row is not None else []
            key: tuple[Any, ...] = ()
            if plan.primary_key is not None and not many:
                # As SQLAlchemy gives it: the values given, else the row id SQLite assigned.
                key = tuple(first.get(column, cursor.lastrowid) for column in plan.primary_key)
            return DirectResult(rows, cursor.rowcount, key)
        except BaseException as exc:
            _raise_after(connection, exc, plan.sql, first, cursor, raw if shared else None)
        finally:
            if not shared:
                cursor.close()

    def read(self, engine: Engine, params: Params | None = None) -> Any:
        """Run a read on its own, outside any transaction: on SQLite on one of the engine's
        idle driver connections (read_connections.py), with no pool checkout and no
        transaction; elsewhere in a connection of its own. Its rows, as a DirectResult."""
        params = params or {}
        dialect = engine.dialect
        plan = self._plan(dialect, tuple(params)) if dialect.name == "sqlite" else None
        if plan is None or plan.row is None:
            with engine.connect() as connection:
                rows = list(self.execute(connection, params).all())
            return DirectResult(rows, len(rows))
        connections = read_connections(engine)
        raw = connections.take()
        try:
            cursor, shared = _cursor_of(raw)
            try:
                cursor.execute(plan.sql, plan.parameters(params))
                rows = cursor.fetchall()
            finally:
                if not shared:
                    cursor.close()
        except dialect.dbapi.Error as exc:
            connections.discard(raw)
            # As SQLAlchemy raises a driver's error (storage_errors reads these).
            raise DBAPIError.instance(
                plan.sql, params, exc, dialect.dbapi.Error, dialect=dialect
            ) from exc
        except BaseException:
            connections.discard(raw)
            raise
        connections.give_back(raw)
        return DirectResult(plan.rows(rows), len(rows))

    def _plan(self, dialect: Dialect, keys: tuple[str, ...]) -> _Plan | None:
        # Keyed by the parameters' names as given, unsorted: a call site always passes them in
        # the same order, and another order only compiles an equivalent plan once more.
        key = (dialect.name, keys)
        try:
            return self._plans[key]
        except KeyError:
            with self._lock:
                plan = self._plans[key] = _compile(self.statement, dialect, keys)
            return plan


def execute_driver_sql(connection: Connection, sql: str) -> None:
    """A statement without parameters (BEGIN IMMEDIATE) on the driver's cursor, as Direct runs
    its statements: for an event handler, where SQLAlchemy's own execute would cost more."""
    raw = connection.connection.driver_connection
    cursor, shared = _cursor_of(raw)
    try:
        cursor.execute(sql)
    except BaseException as exc:
        _raise_after(connection, exc, sql, {}, cursor, raw if shared else None)
    finally:
        if not shared:
            cursor.close()


def _cursor_of(raw: Any) -> tuple[Any, bool]:
    """(cursor, shared): the connection's shared cursor (sqlite_write_lock.py; its rows are
    always fetched at once here), else a new one, which the caller closes. A caller whose
    statement raised makes the connection forget its shared cursor."""
    if type(raw) is WriteLockedConnection:
        return raw.shared_cursor(), True
    return raw.cursor(), False


def _raise_after(
    connection: Connection,
    error: BaseException,
    sql: str,
    params: Params,
    cursor: Any,
    sharing: Any | None,
) -> NoReturn:
    """A statement on `cursor` raised `error`. `sharing`, the connection whose shared cursor it
    was, forgets it: whatever state the error left it in stays with it. A driver's error gets
    SQLAlchemy's own handling: the typed error, and a dead connection invalidated. (Inline try
    blocks, not a context manager: this runs around every statement of the turn, where a
    generator's entry and exit cost as much as a small statement.)"""
    if sharing is not None:
        sharing.forget_shared_cursor()
    if isinstance(error, connection.dialect.dbapi.Error):
        connection._handle_dbapi_exception(error, sql, params, cursor, None)  # noqa: SLF001
    raise error


def _compile(statement: Executable, dialect: Dialect, keys: tuple[str, ...]) -> _Plan | None:
    """The statement's plan for parameters named `keys`; None if SQLAlchemy must run it."""
    compiled = statement.compile(dialect=dialect, column_keys=list(keys))
    if compiled.insert_prefetch or compiled.update_prefetch or compiled.returning:
        return None
    names = tuple(compiled.positiontup or ())
    processors = compiled._bind_processors  # noqa: SLF001 - SQLAlchemy's own conversions
    columns = compiled._result_columns  # noqa: SLF001 - (key, name, objects, type) per column
    return _Plan(
        sql=compiled.string,
        names=names,
        constants={
            name: compiled.binds[name].effective_value
            for name in names
            if name not in keys and not compiled.binds[name].required
        },
        binds=tuple(
            _fast_bind(compiled.binds[name].type, dialect, processors.get(name)) for name in names
        ),
        row=namedtuple("Row", [c[0] for c in columns], rename=True) if columns else None,  # type: ignore[misc]
        results=tuple(c[3]._cached_result_processor(dialect, None) for c in columns),  # noqa: SLF001
        primary_key=(
            tuple(column.key for column in statement.table.primary_key)  # type: ignore[attr-defined]
            if compiled.isinsert
            else None
        ),
    )


def _fast_bind(type_: Any, dialect: Dialect, processor: _Processor) -> _Processor:
    """SQLAlchemy's conversion of a value going in, or the same conversion done faster: a
    datetime for SQLite's DATETIME in its default storage format is formatted by isoformat, the
    same text in about a third of the time of the format string (five a turn)."""
    if processor is None or dialect.name != "sqlite":
        return processor
    impl = type_.dialect_impl(dialect)
    if type(impl) is not SQLITE_DATETIME or impl._storage_format != _DEFAULT_DATETIME_FORMAT:  # noqa: SLF001
        return processor

    def datetime_text(value: Any) -> Any:
        # "YYYY-MM-DD HH:MM:SS.ffffff": isoformat's first 26 characters for every year from 1 to
        # 9999, aware or naive (SQLAlchemy's format drops the zone too).
        if isinstance(value, datetime):
            return value.isoformat(" ", "microseconds")[:26]
        return processor(value)  # a date, or whatever else SQLAlchemy makes of it

    return datetime_text


_DEFAULT_DATETIME_FORMAT = SQLITE_DATETIME._storage_format  # noqa: SLF001
