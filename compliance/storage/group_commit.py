"""Group commit: threads writing at the same moment share one transaction and one commit.

Why: a durable commit waits for the disk (an fsync with SQLite's synchronous=FULL, a WAL flush
on PostgreSQL), and on SQLite it waits holding the database's one write lock. Two writers use
this. The audit log: every append is durable and taken under the log's single head lock, and in
a busy Rasa server the webhook threads (three delivery statuses per reply) and the turn thread
append at once. The inbox: every webhook's messages are recorded durably before Meta hears 200,
and under a burst the webhook front's threads queued on the write lock, each for its own fsync
(docs/benchmarks.md). Here the first thread to arrive commits for everyone who queued up while
it was busy (the leader and followers of a database engine's group commit): a lone writer pays
nothing extra, a crowd pays one commit per batch, and every caller still returns only once its
own writes are durable.

A batch is all or nothing in the database. If it fails, each item is run again on its own, so
one item's failure (a bad change, a constraint) stays its own and its neighbours still land.
Except when the batch failed for want of the write lock (`is_lock_timeout`: another process
held it past SQLite's busy timeout or PostgreSQL's lock_timeout): no item is at fault then, and
running each alone would wait that timeout once per item, so N queued appends would wait N
times before the last one heard. Every item of such a batch gets the error at once. (The price:
on PostgreSQL with a lock_timeout set, a change that times out on a row lock of its own fails
its batch's neighbours too; lock_timeout is unset by default, and SQLite's lock is taken once,
before any item runs.)
`run_batch` must not submit to the same committer (it would wait for itself).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class _Ticket(Generic[T, R]):
    item: T
    done: bool = False
    result: R | None = None
    error: BaseException | None = None

    def outcome(self) -> R:
        if self.error is not None:
            raise self.error
        return self.result  # type: ignore[return-value]


# SQLite's SQLITE_BUSY and SQLITE_LOCKED as pysqlite words them (it has no error codes on 3.10).
_SQLITE_LOCKED = ("database is locked", "database table is locked")
# PostgreSQL's lock_not_available: a lock wait ran past lock_timeout (or NOWAIT).
_PG_LOCK_NOT_AVAILABLE = "55P03"


def is_lock_timeout(error: BaseException) -> bool:
    """Whether `error`, or an error it was raised from or while handling, is the database
    giving up on a lock another connection holds. The storage guard re-raises the driver's
    error as StorageUnavailable, and SQLAlchemy wraps it (`.orig`): the whole chain is read."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        for candidate in (current, getattr(current, "orig", None)):
            if isinstance(candidate, sqlite3.OperationalError) and str(candidate).startswith(
                _SQLITE_LOCKED
            ):
                return True
            if getattr(candidate, "pgcode", None) == _PG_LOCK_NOT_AVAILABLE:
                return True
        current = current.__cause__ or current.__context__
    return False


class GroupCommitter(Generic[T, R]):
    """`submit(item)` runs `run_batch([..., item, ...])` and returns this item's result.

    `shared_failure(error)` says whether a batch's failure is no item's own (default: a lock
    timeout), so that its items fail together instead of being retried one by one.
    """

    def __init__(
        self,
        run_batch: Callable[[list[T]], list[R]],
        *,
        shared_failure: Callable[[Exception], bool] = is_lock_timeout,
    ) -> None:
        self._run_batch = run_batch
        self._shared_failure = shared_failure
        self._cond = threading.Condition()
        self._queue: list[_Ticket[T, R]] = []
        self._busy = False
        self.batches = 0  # how many commits served how many items: for tests and benchmarks
        self.items = 0

    @property
    def waiting(self) -> int:
        """Submissions queued behind a batch in progress (tests)."""
        with self._cond:
            return len(self._queue)

    def submit(self, item: T) -> R:
        ticket: _Ticket[T, R] = _Ticket(item)
        with self._cond:
            self._queue.append(ticket)
            while self._busy and not ticket.done:
                self._cond.wait()
            if ticket.done:  # a leader committed it while we waited
                return ticket.outcome()
            self._busy = True
            batch, self._queue = self._queue, []
        try:
            self._run(batch)
        finally:
            with self._cond:
                self._busy = False
                self._cond.notify_all()
        return ticket.outcome()

    def _run(self, batch: list[_Ticket[T, R]]) -> None:
        try:
            if len(batch) > 1:
                try:
                    results = self._run_batch([t.item for t in batch])
                except Exception as exc:
                    # Nothing of the batch was written: each is settled on its own below,
                    # unless the failure was no item's own (the write lock was never had).
                    if self._shared_failure(exc):
                        for ticket in batch:
                            ticket.error, ticket.done = exc, True
                else:
                    for ticket, result in zip(batch, results, strict=True):
                        ticket.result, ticket.done = result, True
            for ticket in batch:
                if not ticket.done:
                    self._settle(ticket)
        finally:
            self.batches += 1
            self.items += len(batch)
            for ticket in batch:
                if not ticket.done:  # the leader itself was interrupted
                    ticket.error = RuntimeError("write interrupted before its commit")
                    ticket.done = True

    def _settle(self, ticket: _Ticket[T, R]) -> None:
        try:
            [ticket.result] = self._run_batch([ticket.item])
        except Exception as exc:  # handed to the submitting thread, raised there
            ticket.error = exc
        ticket.done = True
