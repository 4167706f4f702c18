"""Group commit: threads appending at the same moment share one transaction and one commit.

Why: every audit append is a durable commit (an fsync with SQLite's synchronous=FULL, a WAL flush
on PostgreSQL) taken under the log's single head lock. In a busy Rasa server the webhook threads
(three delivery statuses per reply) and the turn thread append at once, and each used to wait for
the others' fsyncs while holding the database's write lock, which also stalled the turns. Here
the first thread to arrive commits for everyone who queued up while it was busy (the leader and
followers of a database engine's group commit): a lone appender pays nothing extra, a crowd pays
one commit per batch, and every caller still returns only once its own entries are durable.

A batch is all or nothing in the database. If it fails, each item is run again on its own, so
one item's failure (a bad change, a constraint) stays its own and its neighbours still land.
`run_batch` must not submit to the same committer (it would wait for itself).
"""

from __future__ import annotations

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


class GroupCommitter(Generic[T, R]):
    """`submit(item)` runs `run_batch([..., item, ...])` and returns this item's result."""

    def __init__(self, run_batch: Callable[[list[T]], list[R]]) -> None:
        self._run_batch = run_batch
        self._cond = threading.Condition()
        self._queue: list[_Ticket[T, R]] = []
        self._busy = False
        self.batches = 0  # how many commits served how many items: for tests and benchmarks
        self.items = 0

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
                except Exception:
                    pass  # nothing of the batch was written: each is settled on its own below
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
                    ticket.error = RuntimeError("audit append interrupted before its commit")
                    ticket.done = True

    def _settle(self, ticket: _Ticket[T, R]) -> None:
        try:
            [ticket.result] = self._run_batch([ticket.item])
        except Exception as exc:  # handed to the submitting thread, raised there
            ticket.error = exc
        ticket.done = True
