"""Idle SQLite connections for one-statement reads outside any transaction: no pool checkout.

Why: a read on the turn's path (the vault's row and group, the send guard's consent rows) ran
in a connection checked out of SQLAlchemy's pool, in a transaction begun for it and rolled back
when it was checked in: about 40 us of Python around a statement that SQLite runs in about 10,
three times a turn in the Rasa server (docs/benchmarks.md, issue 4). A read that runs alone
needs none of it: in WAL mode a statement outside a transaction reads the latest commit, and
holds nothing once its rows are fetched. So each SQLite engine keeps a few idle driver
connections here, taken out of its pool (detached: the pool opens another when it needs one),
with the engine's own connect-time settings (its `connect` events ran on them). A read takes
one, runs, fetches every row and gives it back. A connection that raised is closed, not reused;
disposing of the engine closes the idle ones.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

# More idle connections than a process has threads reading at once is waste: past this, a
# returned connection is closed.
MAX_IDLE = 8


class ReadConnections:
    """The idle driver connections of one SQLite engine."""

    def __init__(self, engine: Engine) -> None:
        # Weakly: the registry below maps engines to these, and a value that held its key would
        # keep every engine (and its open connections) alive for good.
        self._engine = weakref.ref(engine)
        self._idle: list[Any] = []
        self._lock = threading.Lock()
        event.listen(engine, "engine_disposed", self._close_idle)

    @contextmanager
    def borrowed(self) -> Iterator[Any]:
        """A driver connection for the caller alone until the block ends."""
        raw = self.take()
        try:
            yield raw
        except BaseException:
            self.discard(raw)
            raise
        self.give_back(raw)

    # borrowed() in three calls, for Direct.read, which runs on every turn's path four times:
    # a generator's entry and exit cost about as much as the rest of its Python.

    def take(self) -> Any:
        """An idle driver connection, or a new one; the caller gives it back or discards it."""
        with self._lock:
            if self._idle:
                return self._idle.pop()
        engine = self._engine()
        assert engine is not None  # the caller reads through it
        fairy = engine.raw_connection()
        fairy.detach()  # ours now: the pool forgets it and its slot
        return fairy.dbapi_connection

    def give_back(self, raw: Any) -> None:
        with self._lock:
            if len(self._idle) < MAX_IDLE:
                self._idle.append(raw)
                return
        raw.close()

    @staticmethod
    def discard(raw: Any) -> None:
        """Close a connection that raised: whatever went wrong stays with it."""
        raw.close()

    def _close_idle(self, _engine: Engine) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for raw in idle:
            raw.close()


_by_engine: weakref.WeakKeyDictionary[Engine, ReadConnections] = weakref.WeakKeyDictionary()
_by_engine_lock = threading.Lock()


def read_connections(engine: Engine) -> ReadConnections:
    """The idle connections of `engine` (a SQLite engine), made on first use."""
    found = _by_engine.get(engine)
    if found is None:
        with _by_engine_lock:
            found = _by_engine.get(engine)
            if found is None:
                found = _by_engine[engine] = ReadConnections(engine)
    return found
