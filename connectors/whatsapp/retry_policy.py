"""When to retry a Graph API call, and after how long.

Pure: the attempt number, the typed error, the server's Retry-After and a seeded
``random.Random`` go in; a delay in seconds (or None: give up and raise) comes out.

Why these rules (shared whatsapp-cloud-api.md §6 and §10):

- Only ``error.retryable`` errors are retried (``Throttled``, ``Retryable``, network errors);
  Meta says retrying 131047, 131050, 131026 or a malformed request cannot help.
- Exponential backoff with *full jitter* (delay drawn from ``[0, min(cap, base * 2**(n-1))]``)
  so that many senders that failed together do not retry together.
- A Retry-After from the server wins over our own backoff: retrying earlier only earns another
  refusal. If it asks for longer than ``cap`` we give up rather than hold a turn hostage.
- Pair rate (131056): Meta says retry after 4**X seconds, X = 0, 1, 2 ...; retrying sooner
  lengthens the penalty, so we wait exactly that long, and give up once it exceeds ``cap``.
"""

from __future__ import annotations

import random
from email.utils import parsedate_to_datetime

from connectors.whatsapp import limits
from connectors.whatsapp.graph_errors import GraphError, PairRateLimited

__all__ = ["DEFAULT_BASE", "DEFAULT_CAP", "DEFAULT_MAX_ATTEMPTS", "next_delay", "parse_retry_after"]

DEFAULT_BASE = 0.5
DEFAULT_CAP = 30.0
# Four attempts: with base 0.5 the worst case waits 0.5 + 1 + 2 s (+ jitter below that); a
# pair-rate limit waits 1 + 4 + 16 s. Both stay well inside a conversational turn.
DEFAULT_MAX_ATTEMPTS = 4


def next_delay(
    attempt: int,
    error: GraphError,
    retry_after: float | None,
    rng: random.Random,
    base: float = DEFAULT_BASE,
    cap: float = DEFAULT_CAP,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> float | None:
    """Seconds to wait before attempt ``attempt + 1``, or None to stop and raise ``error``.

    Requires ``attempt >= 1`` (the number of the attempt that just failed), ``base > 0``,
    ``cap >= base`` and ``max_attempts >= 1``.
    """
    if attempt < 1 or max_attempts < 1 or base <= 0 or cap < base:
        raise ValueError("next_delay requires attempt >= 1, max_attempts >= 1, 0 < base <= cap")
    if not error.retryable or attempt >= max_attempts:
        return None
    if retry_after is not None and retry_after >= 0:
        return retry_after if retry_after <= cap else None
    if isinstance(error, PairRateLimited):
        delay = limits.PAIR_RATE_BACKOFF_BASE ** (attempt - 1)
        return delay if delay <= cap else None
    ceiling = min(cap, base * 2 ** (attempt - 1))
    return rng.uniform(0.0, ceiling)


def parse_retry_after(value: str | None, now_epoch: float | None = None) -> float | None:
    """Parse a Retry-After header: delta-seconds, or an HTTP-date when ``now_epoch`` is given.

    Returns None for a missing or malformed header (then our own backoff applies); never raises.
    """
    if value is None:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        seconds = None
    if seconds is not None:
        return seconds if seconds >= 0 and seconds == seconds else None  # reject NaN
    if now_epoch is None:
        return None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - now_epoch)
