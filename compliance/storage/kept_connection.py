"""The one connection a serial writer keeps between its transactions, on SQLite.

Why: the audit log's appends and the inbox's records each run one transaction at a time (their
group commits run one batch at a time: group_commit.py), and each checked a connection out of
the pool and back in around every transaction: about 40 us of Python a time, four times a turn
(docs/benchmarks.md, issue 4). Such a writer can keep its connection instead. Between its
transactions the connection holds nothing: SQLite's write lock and SQLAlchemy's transaction end
with the commit. A transaction that raised gives its connection up, invalidated, so that no
state it was left in (a synchronous level, a failed statement) reaches the pool's other users;
the next transaction checks out a fresh one.

On PostgreSQL a connection is checked out per transaction as before: the pool pings it first,
and a kept one would meet a restarted server with one failed transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Connection, Engine


class KeptConnection:
    """`connection()`: the kept connection (SQLite), or a fresh checkout (elsewhere). Callers
    must not overlap: one block at a time."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._keep = engine.dialect.name == "sqlite"
        self._kept: Connection | None = None

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        if not self._keep:
            with self._engine.connect() as connection:
                yield connection
            return
        connection, self._kept = self._kept or self._engine.connect(), None
        try:
            yield connection
        except BaseException:
            connection.invalidate()
            connection.close()
            raise
        self._kept = connection

    def close(self) -> None:
        """Give the kept connection back to the pool (before the engine is disposed of)."""
        kept, self._kept = self._kept, None
        if kept is not None:
            kept.close()
