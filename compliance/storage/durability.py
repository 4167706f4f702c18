"""Which commits wait for the disk: those that promise something to the outside world.

A commit that answers Meta (a webhook's 200: the message is ours now), or records that a message
went out, must survive a power loss: SQLite's synchronous=FULL (the write-ahead log is fsynced
at commit), PostgreSQL's synchronous_commit. A commit whose work can be done again from a
durable record need not wait: a turn's start and end are replayed from the message's inbox row
if the machine loses power before the log reaches the disk, and then they are lost together with
everything after them, never out of order (one write-ahead log, written in commit order; the
next durable commit of any process takes them to the disk with it). Those commits skip the
fsync: SQLite's synchronous=NORMAL, PostgreSQL's synchronous_commit off for the transaction.
Measured: a fifth of a millisecond per commit on this project's machine (docs/benchmarks.md).

SQLite fixes the level per connection and refuses to change it inside a transaction, so it is
set just before the transaction begins, on the driver's connection, and remembered per
connection so that an unchanged level costs nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Connection

_LEVEL = "sigillo_synchronous"  # key in the DBAPI connection's info: the level last set
FULL, NORMAL = "FULL", "NORMAL"


def _set_sqlite_level(connection: Connection, level: str) -> None:
    """Set SQLite's synchronous level of `connection` (outside a transaction) if it differs."""
    if connection.dialect.name != "sqlite" or connection.info.get(_LEVEL) == level:
        return
    connection.connection.driver_connection.execute(f"PRAGMA synchronous={level}")
    connection.info[_LEVEL] = level


@contextmanager
def transaction(connection: Connection, *, durable: bool) -> Iterator[Connection]:
    """Begin a transaction on `connection` whose commit waits for the disk, or not: SQLite's
    level set before BEGIN (its rule), PostgreSQL's synchronous_commit for the transaction."""
    _set_sqlite_level(connection, FULL if durable else NORMAL)
    with connection.begin():
        if not durable and connection.dialect.name == "postgresql":
            connection.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
        yield connection
