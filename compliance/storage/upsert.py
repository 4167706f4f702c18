"""Dialect-aware "insert unless the key exists", the primitive behind every idempotency check.

A unique key makes a redelivered webhook, a duplicate in one body and a second server instance
all collapse into one row, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.sql.dml import Insert


def insert_ignore(connection: Connection, table: Table, values: dict[str, Any]) -> Any | None:
    """Insert `values`; return the new primary key, or None if a unique key already existed."""
    result = connection.execute(_insert_ignore_statement(connection.dialect.name, table), values)
    if result.rowcount == 0:
        return None
    key = result.inserted_primary_key
    return key[0] if key else True


@cache
def _insert_ignore_statement(dialect: str, table: Table) -> Insert:
    # Built once per table: the values travel as parameters, so SQLAlchemy's compiled cache
    # is hit without rebuilding the expression (about 0.1 ms a call on the webhook's path).
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    raise NotImplementedError(f"unsupported database dialect {dialect!r}")  # pragma: no cover
