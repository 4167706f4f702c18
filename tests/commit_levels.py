"""How durable each commit on an engine was, as the database itself states it at the commit:
SQLite's synchronous level (2 = FULL: the log is fsynced; 1 = NORMAL), PostgreSQL's
synchronous_commit. For the tests of compliance/storage/durability.py and its callers."""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.engine import Engine


def commit_levels(engine: Engine) -> list[str]:
    """The durability each commit on `engine` had, as the database states it at the commit."""
    seen: list[str] = []

    @event.listens_for(engine, "commit")
    def _commit(connection) -> None:  # type: ignore[no-untyped-def]
        raw = connection.connection.driver_connection
        if connection.dialect.name == "sqlite":
            (level,) = raw.execute("PRAGMA synchronous").fetchone()
            seen.append({2: "durable", 1: "relaxed"}.get(level, str(level)))
        else:
            with raw.cursor() as cursor:
                cursor.execute("SHOW synchronous_commit")
                (setting,) = cursor.fetchone()
            seen.append("relaxed" if setting == "off" else "durable")

    return seen
