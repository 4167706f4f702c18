"""Dialect-aware "insert unless the key exists", the primitive behind every idempotency check.

A unique key makes a redelivered webhook, a duplicate in one body and a second server instance
all collapse into one row, on SQLite and PostgreSQL alike.

Why a construct of our own: SQLAlchemy 1.4's dialect inserts with `on_conflict_do_nothing()`
opt out of its compiled-statement cache, so every webhook recompiled its INSERT (half of the
webhook's Python time). `InsertIgnore` is a plain INSERT that caches, rendered with the
`ON CONFLICT DO NOTHING` clause both databases understand (SQLite >= 3.24, PostgreSQL >= 9.5).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import Table
from sqlalchemy.engine import Connection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.dml import Insert

from compliance.storage.direct import Direct

_SUPPORTED = frozenset({"sqlite", "postgresql"})


class InsertIgnore(Insert):
    """INSERT … ON CONFLICT DO NOTHING. Its class is part of the cache key, so it never shares
    a compiled statement with a plain INSERT of the same table."""

    inherit_cache = True


@compiles(InsertIgnore)
def _compile_insert_ignore(element: InsertIgnore, compiler: Any, **kw: Any) -> str:
    sql = compiler.visit_insert(element, **kw)
    # PostgreSQL fetches the new key with RETURNING, which must come after the conflict clause.
    head, returning, tail = sql.partition(" RETURNING ")
    return f"{head} ON CONFLICT DO NOTHING{returning}{tail}"


def insert_ignore(connection: Connection, table: Table, values: dict[str, Any]) -> Any | None:
    """Insert `values`; return the new primary key, or None if a unique key already existed."""
    dialect = connection.dialect.name
    if dialect not in _SUPPORTED:  # pragma: no cover - only SQLite and PostgreSQL are supported
        raise NotImplementedError(f"unsupported database dialect {dialect!r}")
    result = _statement(table).execute(connection, values)
    if result.rowcount == 0:
        return None
    key = result.inserted_primary_key
    return key[0] if key else True


@cache
def _statement(table: Table) -> Direct:
    # Values travel as parameters: one compiled form per key set; the inbox's record is on
    # every webhook's path (compliance/storage/direct.py).
    return Direct(InsertIgnore(table))
