"""How long this process holds SQLite's write lock (compliance/storage/sqlite_write_lock.py).

Why: the webhook front acknowledges only after its durable commit, which waits for that one lock
while a turn's transaction holds it. So how long each part of a turn holds the lock matters
beside how long the part takes. The meter wraps the lock of the bench's own process while it is
installed; the product is not changed.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from compliance.storage.sqlite_write_lock import _FileLock


class WriteLockMeter:
    """`held`: seconds the lock was held, summed over the holds that ended while installed."""

    def __init__(self) -> None:
        self.held = 0.0
        self._since: dict[int, float] = {}  # a lock's id -> when its current hold began

    @contextmanager
    def installed(self) -> Iterator[WriteLockMeter]:
        acquire, release = _FileLock.acquire, _FileLock.release
        meter = self

        def timed_acquire(lock: _FileLock, timeout: float) -> None:
            acquire(lock, timeout)
            meter._since[id(lock)] = time.perf_counter()

        def timed_release(lock: _FileLock) -> None:
            began = meter._since.pop(id(lock), None)
            try:
                release(lock)
            finally:
                if began is not None:
                    meter.held += time.perf_counter() - began

        _FileLock.acquire, _FileLock.release = timed_acquire, timed_release  # type: ignore[method-assign]
        try:
            yield self
        finally:
            _FileLock.acquire, _FileLock.release = acquire, release  # type: ignore[method-assign]
