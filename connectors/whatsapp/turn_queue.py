"""Runs Rasa turns after the webhook has answered, one at a time per sender, oldest first.

The webhook records a message in the inbox and submits its sequence number here; a worker per
sender claims it, runs the turn and marks it done. A periodic sweep picks up messages whose lease
ran out (their process died mid-turn, or another instance crashed) and pending messages found
after a restart, so an acknowledged message is always processed (design.md invariant 5).
"""

from __future__ import annotations

import asyncio
import heapq
import logging
from collections.abc import Awaitable, Callable

from connectors.whatsapp.inbox import Inbox, InboxItem

logger = logging.getLogger(__name__)

# Runs the turn; True when the message's inbox row was completed with the turn's events (the
# channel registers the completion with the tracker store: tracker_store/turn_writes.py).
TurnRunner = Callable[[InboxItem], Awaitable[bool | None]]


class TurnQueue:
    def __init__(
        self,
        inbox: Inbox,
        run_turn: TurnRunner,
        *,
        claim: Callable[[int], InboxItem | None] | None = None,
        sweep_seconds: float = 10.0,
    ) -> None:
        """`claim` takes a message's lease (default: the inbox's own transaction; the channel
        claims in the inbound audit entry's, so the turn's start is one commit)."""
        self._inbox = inbox
        self._claim = claim or inbox.claim
        self._run_turn = run_turn
        self._sweep_seconds = sweep_seconds
        self._pending: dict[str, list[int]] = {}  # subject -> heap of seqs
        self._queued: set[int] = set()
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._sweeper: asyncio.Task[None] | None = None
        self._idle = asyncio.Event()
        self._idle.set()

    def submit(self, seq: int, subject: str) -> None:
        if seq in self._queued:
            return
        self._queued.add(seq)
        heapq.heappush(self._pending.setdefault(subject, []), seq)
        self._idle.clear()
        if subject not in self._workers:
            self._workers[subject] = asyncio.get_running_loop().create_task(self._work(subject))

    def start(self) -> None:
        """Recover what a previous run left pending, then keep sweeping for expired leases."""
        if self._sweeper is None:
            self._sweeper = asyncio.get_running_loop().create_task(self._sweep_forever())

    async def stop(self) -> None:
        tasks = [t for t in (self._sweeper, *self._workers.values()) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._sweeper = None

    async def wait_idle(self, timeout: float | None = None) -> None:
        """Until every submitted turn has finished (tests and benchmarks)."""
        await asyncio.wait_for(self._idle.wait(), timeout)

    def sweep(self) -> int:
        """Submit every recoverable message; returns how many were found."""
        found = self._inbox.recoverable()
        for seq, subject in found:
            self.submit(seq, subject)
        return len(found)

    async def _sweep_forever(self) -> None:
        while True:
            try:
                recovered = self.sweep()
                if recovered:
                    logger.info("whatsapp.turns.recovered count=%d", recovered)
            except Exception as exc:  # the database may be down for a while; keep trying
                logger.warning("whatsapp.turns.sweep_failed error=%s", type(exc).__name__)
            await asyncio.sleep(self._sweep_seconds)

    async def _work(self, subject: str) -> None:
        heap = self._pending[subject]
        try:
            while heap:
                seq = heapq.heappop(heap)
                try:
                    await self._process(seq, subject)
                finally:
                    self._queued.discard(seq)
        finally:
            del self._workers[subject]
            if not heap:
                self._pending.pop(subject, None)
            if not self._workers:
                self._idle.set()

    async def _process(self, seq: int, subject: str) -> None:
        try:
            item = self._claim(seq)
        except Exception as exc:
            logger.warning(
                "whatsapp.turns.claim_failed subject=%s error=%s", subject, type(exc).__name__
            )
            return  # still pending: the sweep retries it
        if item is None:
            return  # done already, or another instance holds it
        try:
            completed = await self._run_turn(item)
        except Exception as exc:
            # The turn ran (or half ran) inside Rasa; replaying it would double the tracker.
            logger.error(
                "whatsapp.turns.failed subject=%s seq=%d error=%s", subject, seq, type(exc).__name__
            )
            self._inbox.complete(seq, state="failed")
            return
        if not completed:
            self._inbox.complete(seq)
