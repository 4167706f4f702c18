"""Pacing of outbound messages: a token bucket per business number, a backoff per recipient.

Pure: the caller passes ``now`` (seconds on a monotonic clock); ``reserve`` answers how long to
wait before sending and books the slot, so concurrent senders queue up instead of all firing.

Why (shared whatsapp-cloud-api.md §10): Meta allows ``limits.DEFAULT_MESSAGES_PER_SECOND``
(80) messages per second per business number by default (20 for coexistence numbers, up to
1,000 when upgraded: hence configurable) and answers 130429 beyond it. To one user it allows
about one message per 6 s with bursts, then answers 131056; after that every send to that user,
not only the one that failed, should wait, so the penalty is kept per recipient.

The bucket is a GCRA (generic cell rate algorithm): one "theoretical arrival time" per business
number instead of a token count, which makes a reservation O(1) and exact with float clocks.

Scope: state lives in this process. With several Rasa servers behind a load balancer each one
paces on its own, so the effective rate is N x ``rate``: give each instance
``rate / N`` (``Pacer(rate_per_second=80 / N)``) or share state through a store (not built yet;
the two dicts below are the whole state and map one-to-one onto Redis keys with a TTL).

Privacy: ``recipient`` is a key, never logged; pass a pseudonym or a hash, not a phone number.
"""

from __future__ import annotations

from dataclasses import dataclass

from connectors.whatsapp import limits

__all__ = ["Pacer"]

# Forget recipients whose backoff has expired once this many are tracked (bounds memory).
_PRUNE_ABOVE = 10_000


@dataclass
class _Bucket:
    tat: float  # theoretical arrival time of the next message


class Pacer:
    """Books send slots: ``delay = pacer.reserve(now, recipient)``; sleep ``delay``; send."""

    def __init__(
        self,
        rate_per_second: float = limits.DEFAULT_MESSAGES_PER_SECOND,
        burst: int | None = None,
    ) -> None:
        """``burst`` messages may leave at once (default: one second's worth)."""
        if not rate_per_second > 0:
            raise ValueError("Pacer rate_per_second must be > 0")
        burst = max(1, int(rate_per_second)) if burst is None else burst
        if burst < 1:
            raise ValueError("Pacer burst must be >= 1")
        self._interval = 1.0 / rate_per_second
        self._tolerance = (burst - 1) * self._interval
        self._buckets: dict[str, _Bucket] = {}
        self._blocked_until: dict[str, float] = {}

    def reserve(self, now: float, recipient: str | None = None, business_number: str = "") -> float:
        """Book the next slot for ``business_number`` and return seconds to wait (>= 0).

        The wait also covers any pair-rate backoff recorded for ``recipient``. The bucket slot
        is booked as if the message left without that backoff, so one user in backoff never
        holds up the others (at worst a slot goes unused: we err on the slow side).
        """
        bucket = self._buckets.setdefault(business_number, _Bucket(tat=now))
        tat = max(bucket.tat, now)
        send_at = max(now, tat - self._tolerance)
        bucket.tat = tat + self._interval
        if recipient is not None:
            send_at = max(send_at, self._blocked_until.get(recipient, now))
        return send_at - now

    def pair_rate_limited(self, now: float, recipient: str, wait_seconds: float) -> None:
        """Record a 131056 for ``recipient``: no message to them before ``now + wait_seconds``."""
        until = now + max(0.0, wait_seconds)
        if until > self._blocked_until.get(recipient, float("-inf")):
            self._blocked_until[recipient] = until
        if len(self._blocked_until) > _PRUNE_ABOVE:
            self._prune(now)

    def blocked_recipients(self, now: float) -> int:
        """How many recipients are in backoff now (for metrics; no identities)."""
        return sum(1 for until in self._blocked_until.values() if until > now)

    def _prune(self, now: float) -> None:
        for key in [k for k, until in self._blocked_until.items() if until <= now]:
            del self._blocked_until[key]
