"""The GCRA (generic cell rate algorithm) arithmetic behind outbound pacing, and nothing else.

Pure: no clock, no state. A bucket is one number, its "theoretical arrival time" (``tat``): the
time at which the bucket would be empty again if every booked message had left at the rate.
Booking a message at ``now``::

    tat       = max(tat, now)               # an idle bucket does not bank credit beyond the burst
    wait      = max(0, tat - tolerance - now)   # up to ``burst`` messages may leave at once
    next tat  = tat + interval

Both pacers use this: ``pacing.Pacer`` keeps ``tat`` in a dict, ``pacing_redis.RedisPacer`` in a
Redis key. The Redis pacer books in a Lua script (the only way to read-and-advance ``tat``
atomically across instances in one round trip), so the script restates the single line
``next tat = max(tat, now) + interval``; everything else (the burst tolerance, the wait, the
validation) lives here, and the script hands back the ``tat`` it found so that ``book`` computes
the wait. Why GCRA rather than a token count: one float per bucket, O(1), exact with float
clocks, and trivially expirable (once ``now >= tat`` the state equals no state).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Gcra", "Slot"]


@dataclass(frozen=True, slots=True)
class Slot:
    """A booked slot: wait ``wait`` seconds, then send; the bucket's new state is ``tat``."""

    wait: float
    tat: float


@dataclass(frozen=True, slots=True)
class Gcra:
    """``interval`` seconds between messages at the steady rate; ``tolerance`` seconds of burst."""

    interval: float
    tolerance: float

    @classmethod
    def per_second(cls, rate_per_second: float, burst: int | None = None) -> Gcra:
        """``rate_per_second`` > 0; ``burst`` >= 1 messages may leave at once (default: one
        second's worth, at least 1). Raises ValueError naming the argument."""
        if not rate_per_second > 0:
            raise ValueError("pacing rate_per_second must be > 0")
        burst = max(1, int(rate_per_second)) if burst is None else burst
        if burst < 1:
            raise ValueError("pacing burst must be >= 1")
        interval = 1.0 / rate_per_second
        return cls(interval=interval, tolerance=(burst - 1) * interval)

    def book(self, tat: float | None, now: float) -> Slot:
        """Book one message at ``now`` on a bucket whose state is ``tat`` (None: never used)."""
        tat = now if tat is None else max(tat, now)
        return Slot(wait=max(0.0, tat - self.tolerance - now), tat=tat + self.interval)
