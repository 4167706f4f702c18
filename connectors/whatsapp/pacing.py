"""Pacing of outbound messages: a rate per business number, a backoff per recipient.

``reserve`` answers how long to wait before sending and books the slot, so concurrent senders
queue up instead of all firing; ``pair_rate_limited`` records a 131056 for one recipient.

Why (shared whatsapp-cloud-api.md §10): Meta allows ``limits.DEFAULT_MESSAGES_PER_SECOND``
(80) messages per second per business number by default (20 for coexistence numbers, up to
1,000 when upgraded: hence configurable) and answers 130429 beyond it. To one user it allows
about one message per 6 s with bursts, then answers 131056; after that every send to that user,
not only the one that failed, should wait, so the penalty is kept per (number, recipient) pair.

Two implementations of one interface (``SendPacer``), both on the arithmetic of ``pacing_gcra``:

- ``Pacer`` (here): state in this process. Right for one Rasa server; with N servers each paces
  on its own and the effective rate is N x ``rate``.
- ``pacing_redis.RedisPacer``: state in Redis, shared by every instance (``pacing_redis_url``).

The interface is async because the Redis pacer does I/O and the Graph client awaits it; the
in-process pacer never blocks. One pacer serves every Graph client of a channel, on the server's
loop and on the turn thread's loop alike, hence the lock.

Privacy: ``recipient`` is a key, never logged; pass a pseudonym or a hash, not a phone number.
"""

from __future__ import annotations

import threading
from typing import Protocol

from connectors.whatsapp import limits
from connectors.whatsapp.pacing_gcra import Gcra

__all__ = ["Pacer", "SendPacer"]

# Forget recipients whose backoff has expired once this many are tracked (bounds memory).
_PRUNE_ABOVE = 10_000


class SendPacer(Protocol):
    """What the Graph client needs from a pacer. ``now`` is the caller's monotonic clock."""

    async def reserve(
        self, now: float, recipient: str | None = None, business_number: str = ""
    ) -> float:
        """Book the next slot for ``business_number``; seconds to wait (>= 0) before sending,
        covering any pair-rate backoff recorded for ``recipient``."""

    async def pair_rate_limited(
        self, now: float, recipient: str, wait_seconds: float, business_number: str = ""
    ) -> None:
        """Record a 131056: no message to ``recipient`` before ``now + wait_seconds``."""

    async def aclose(self) -> None:
        """Release what the pacer holds for the running event loop (connections)."""


class Pacer:
    """In-process pacer: ``delay = await pacer.reserve(now, recipient)``; sleep ``delay``; send."""

    def __init__(
        self,
        rate_per_second: float = limits.DEFAULT_MESSAGES_PER_SECOND,
        burst: int | None = None,
    ) -> None:
        """``burst`` messages may leave at once (default: one second's worth)."""
        self.rate_per_second = rate_per_second
        self._gcra = Gcra.per_second(rate_per_second, burst)
        self._lock = threading.Lock()
        self._tats: dict[str, float] = {}
        self._blocked_until: dict[tuple[str, str], float] = {}

    async def reserve(
        self, now: float, recipient: str | None = None, business_number: str = ""
    ) -> float:
        """Book the next slot for ``business_number`` and return seconds to wait (>= 0).

        The wait also covers any pair-rate backoff recorded for ``recipient``. The bucket slot
        is booked as if the message left without that backoff, so one user in backoff never
        holds up the others (at worst a slot goes unused: we err on the slow side).
        """
        return self.reserve_now(now, recipient, business_number)

    def reserve_now(
        self, now: float, recipient: str | None = None, business_number: str = ""
    ) -> float:
        """``reserve`` without the coroutine, for callers that are not async (and tests)."""
        with self._lock:
            slot = self._gcra.book(self._tats.get(business_number), now)
            self._tats[business_number] = slot.tat
            blocked = 0.0
            if recipient is not None:
                blocked = self._blocked_until.get((business_number, recipient), now) - now
            return max(slot.wait, blocked)

    async def pair_rate_limited(
        self, now: float, recipient: str, wait_seconds: float, business_number: str = ""
    ) -> None:
        """Record a 131056 for ``recipient``: no message to them before ``now + wait_seconds``.
        A shorter penalty never shortens a longer one."""
        self.pair_rate_limited_now(now, recipient, wait_seconds, business_number)

    def pair_rate_limited_now(
        self, now: float, recipient: str, wait_seconds: float, business_number: str = ""
    ) -> None:
        """``pair_rate_limited`` without the coroutine."""
        key = (business_number, recipient)
        until = now + max(0.0, wait_seconds)
        with self._lock:
            if until > self._blocked_until.get(key, float("-inf")):
                self._blocked_until[key] = until
            if len(self._blocked_until) > _PRUNE_ABOVE:
                self._prune(now)

    def blocked_recipients(self, now: float) -> int:
        """How many recipients are in backoff now (for metrics; no identities)."""
        with self._lock:
            return sum(1 for until in self._blocked_until.values() if until > now)

    async def aclose(self) -> None:
        """Nothing to release: the state is plain memory."""

    def _prune(self, now: float) -> None:
        for key in [k for k, until in self._blocked_until.items() if until <= now]:
            del self._blocked_until[key]
