"""Dialect-aware "insert unless the key exists", the primitive behind every idempotency check.

A unique key makes a redelivered webhook, a duplicate in one body and a second server instance
all collapse into one row, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection


def insert_ignore(connection: Connection, table: Table, values: dict[str, Any]) -> Any | None:
    """Insert `values`; return the new primary key, or None if a unique key already existed."""
    dialect = connection.dialect.name
    if dialect == "postgresql":
        statement = postgresql.insert(table).values(**values).on_conflict_do_nothing()
    elif dialect == "sqlite":
        statement = sqlite.insert(table).values(**values).on_conflict_do_nothing()
    else:  # pragma: no cover - only SQLite and PostgreSQL are supported
        raise NotImplementedError(f"unsupported database dialect {dialect!r}")
    result = connection.execute(statement)
    if result.rowcount == 0:
        return None
    key = result.inserted_primary_key
    return key[0] if key else True
