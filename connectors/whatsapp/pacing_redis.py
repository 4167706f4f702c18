"""Pacing shared by every Rasa server through Redis (``pacing_redis_url`` in credentials.yml).

Same interface and semantics as ``pacing.Pacer`` (see there for Meta's limits), but the state
lives in Redis so that N servers behind a load balancer send at ``rate`` together, not N x
``rate`` (design.md, Scale: pacing must hold across instances).

Keys, all under one hash tag per business number so that a script touches one cluster slot::

    sigillo:pacing:{<number>}:tat              the GCRA state (seconds, Redis clock); TTL = until
                                               the bucket is full again, plus a second
    sigillo:pacing:{<number>}:backoff:<hash>   a 131056 penalty: the key's TTL is the penalty
    sigillo:pacing:{<number>}:instances        sorted set: instance id -> last reservation time

``<hash>`` is ``recipient_key(recipient)``, a keyed hash supplied by the channel (the compliance
gate's ``keyed_hash``): neither a phone number nor even a pseudonym rests in Redis.

Clock: slots are booked on Redis's own clock (``TIME`` inside the script), the one clock every
instance shares; the ``now`` callers pass is used only when falling back to local pacing. The
wait is a duration, so the caller sleeps it on its own clock.

Atomicity: one Lua script (EVALSHA, loaded on NoScriptError by redis-py) reads the bucket,
advances it by one interval, reads the recipient's penalty and refreshes this instance's
heartbeat, in one round trip. The arithmetic is ``pacing_gcra``'s: the script restates only
``tat = max(tat, now) + interval`` and returns the state it found, from which ``Gcra.book``
computes the wait here.

Redis unreachable at send time: the message must not be lost, and a chat must not stall for
the length of a Redis outage, so we do not wait for Redis: we fall back to local pacing at
``rate / N``, where N is the number of instances that booked through Redis in the last minute
as last seen (each instance knows it from its own last successful reservation). If the others
fall back too, together they stay at about ``rate``; if the estimate is off, Meta answers 130429
and the Graph client's retry policy backs off, so the cost is a delay, never a lost message.
Redis is retried after ``REDIS_RETRY_SECONDS`` so an outage costs one timeout per interval, not
one per message. Logged as ``whatsapp.pacing.redis_unavailable`` (error class only: the URL may
hold a password) and ``whatsapp.pacing.redis_recovered``.

Start-up: ``check()`` pings Redis once, synchronously and within ``STARTUP_PROBE_SECONDS``, so an
operator learns at start-up, not at the first send, that pacing is local (the same
``redis_unavailable`` line, ``at=start``). It never refuses to start: a server without Redis still
sends, paced as above, and the first send after ``REDIS_RETRY_SECONDS`` tries Redis again. A
server that never reached Redis has seen no other instance, so its N is 1 (the line says
``instances=1``): the fleet may exceed ``rate`` until Redis answers, which costs 130429 retries.

Event loops: a ``redis.asyncio`` connection belongs to the loop that opened it, and one pacer
serves the server's loop (Rasa's HTTP API) and the turn thread's loop, so there is one Redis
client per loop, opened on first use and closed by ``aclose()`` on that loop.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis.asyncio as redis_asyncio
from redis.exceptions import (
    AuthenticationError,
    AuthenticationWrongNumberOfArgsError,
    NoPermissionError,
    RedisError,
    ResponseError,
)

from connectors.whatsapp import limits
from connectors.whatsapp.pacing import Pacer
from connectors.whatsapp.pacing_gcra import Gcra

__all__ = ["DEFAULT_NAMESPACE", "REDIS_RETRY_SECONDS", "STARTUP_PROBE_SECONDS", "RedisPacer"]

logger = logging.getLogger(__name__)

DEFAULT_NAMESPACE = "sigillo:pacing"
REDIS_RETRY_SECONDS = 5.0  # after a failure, pace locally this long before trying Redis again
# A send must not wait long on a sick Redis: a local round trip is well under a millisecond.
REDIS_TIMEOUT_SECONDS = 0.5
# An instance counts towards N (the fallback divisor) if it booked within this window.
INSTANCE_WINDOW_SECONDS = 60
# The start-up ping: long enough for a TLS handshake across a data centre, short enough that a
# missing Redis does not hold up the server's start.
STARTUP_PROBE_SECONDS = 1.0

# KEYS: tat, instances[, backoff]   ARGV: interval (s), instance id, instance window (s)
# Returns: {tat found (or now), now, backoff ms left (0 if none), live instances}. Numbers go
# back as strings: Redis truncates Lua numbers to integers in replies.
_RESERVE = """
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local found = tonumber(redis.call('GET', KEYS[1])) or now
local tat = math.max(found, now) + tonumber(ARGV[1])
redis.call('SET', KEYS[1], string.format('%.6f', tat), 'PX', math.ceil((tat - now) * 1000) + 1000)
local window = tonumber(ARGV[3])
redis.call('ZADD', KEYS[2], now, ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
redis.call('PEXPIRE', KEYS[2], window * 2000)
local backoff = 0
if KEYS[3] then
  local left = redis.call('PTTL', KEYS[3])
  if left > 0 then backoff = left end
end
return {string.format('%.6f', found), string.format('%.6f', now), backoff,
        redis.call('ZCARD', KEYS[2])}
"""

# KEYS: backoff   ARGV: penalty (ms, > 0). A shorter penalty never shortens a longer one.
_BACKOFF = """
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
end
return 1
"""

_UNAVAILABLE = (RedisError, OSError, asyncio.TimeoutError)


@dataclass(frozen=True)
class _LoopRedis:
    """One event loop's Redis client and its scripts (redis-py caches each script's SHA)."""

    client: Any
    reserve: Any
    backoff: Any


class RedisPacer:
    """A ``pacing.SendPacer`` whose buckets and penalties live in Redis."""

    def __init__(
        self,
        url: str,
        *,
        recipient_key: Callable[[str], str],
        rate_per_second: float = limits.DEFAULT_MESSAGES_PER_SECOND,
        burst: int | None = None,
        namespace: str = DEFAULT_NAMESPACE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``recipient_key`` maps a recipient (pseudonym) to the keyed hash stored in Redis; it
        must give the same answer on every instance. ``clock`` times the retry of a failed
        Redis. No connection is opened here: on first use, per event loop."""
        self.rate_per_second = rate_per_second
        self._gcra = Gcra.per_second(rate_per_second, burst)
        self._burst = burst
        self._url = url
        self._recipient_key = recipient_key
        self._namespace = namespace
        self._clock = clock
        self._instance = secrets.token_hex(8)  # random: says nothing about the host
        self._loops: dict[asyncio.AbstractEventLoop, _LoopRedis] = {}
        self._lock = threading.Lock()
        self._instances = 1  # live instances, as last seen in Redis
        self._down = False
        self._retry_redis_at = float("-inf")
        self._fallback = Pacer(rate_per_second=rate_per_second, burst=burst)

    def __repr__(self) -> str:  # the URL may carry a password
        return f"RedisPacer(rate_per_second={self.rate_per_second!r}, url=***)"

    def check(self, timeout: float = STARTUP_PROBE_SECONDS) -> bool:
        """Ping Redis once, at start-up (synchronous, as Rasa builds its channels). False,
        logged once at WARNING, when it does not answer within ``timeout``: the pacer then
        paces locally until a send finds Redis again. Raises RedisCredentialsRefused when it
        answers but refuses the URL's user or password: that is a setting to fix, not an
        outage to ride out, and a start that paced locally for ever would hide it."""
        outcome: list[BaseException | None] = []

        def probe() -> None:
            # A loop of its own, on a thread of its own: the caller may be inside a loop, and a
            # name lookup that hangs (no timeout covers getaddrinfo) must not hang the start.
            try:
                asyncio.run(_ping(self._url, timeout))
                outcome.append(None)
            except Exception as exc:  # whatever it is, the server starts and paces locally
                outcome.append(exc)

        thread = threading.Thread(target=probe, name="sigillo-redis-probe", daemon=True)
        thread.start()
        thread.join(timeout + 0.5)  # the socket timeouts end the probe before this
        error = outcome[0] if outcome else asyncio.TimeoutError()
        if error is not None and refuses_credentials(error):
            raise RedisCredentialsRefused(type(error).__name__) from None
        if error is not None:
            self._went_down(error, at="start")
            return False
        logger.info("whatsapp.pacing.redis_ready")
        return True

    async def reserve(
        self, now: float, recipient: str | None = None, business_number: str = ""
    ) -> float:
        booked = await self.book_in_redis(recipient, business_number)
        if booked is not None:
            return booked[1]
        return self._fallback.reserve_now(now, recipient, business_number)

    async def book_in_redis(
        self, recipient: str | None, business_number: str
    ) -> tuple[float, float] | None:
        """Book a slot in Redis: (Redis's clock when booked, seconds to wait); None when Redis
        is unavailable (nothing booked: the caller paces locally)."""
        if self._clock() < self._retry_redis_at:
            return None
        keys = [self._key(business_number, "tat"), self._key(business_number, "instances")]
        if recipient is not None:
            keys.append(self._backoff_key(business_number, recipient))
        args = [repr(self._gcra.interval), self._instance, INSTANCE_WINDOW_SECONDS]
        try:
            reply = await self._redis().reserve(keys=keys, args=args)
        except _UNAVAILABLE as exc:
            self._went_down(exc, at="send")
            return None
        self._came_back(int(reply[3]))
        found, redis_now = float(reply[0]), float(reply[1])
        wait = max(self._gcra.book(found, redis_now).wait, int(reply[2]) / 1000)
        return redis_now, wait

    async def pair_rate_limited(
        self, now: float, recipient: str, wait_seconds: float, business_number: str = ""
    ) -> None:
        penalty_ms = int(wait_seconds * 1000)
        if penalty_ms > 0 and self._clock() >= self._retry_redis_at:
            key = self._backoff_key(business_number, recipient)
            try:
                await self._redis().backoff(keys=[key], args=[penalty_ms])
                return
            except _UNAVAILABLE as exc:
                self._went_down(exc, at="send")
        # Penalties booked locally during an outage stay local: after it, at worst Meta
        # answers 131056 once more and the penalty is booked again, in Redis.
        self._fallback.pair_rate_limited_now(now, recipient, wait_seconds, business_number)

    async def aclose(self) -> None:
        """Close the Redis connections of the running loop (call it on each loop that used
        the pacer, at shutdown)."""
        with self._lock:
            redis = self._loops.pop(asyncio.get_running_loop(), None)
        if redis is not None:
            await redis.client.close(close_connection_pool=True)

    def _redis(self) -> _LoopRedis:
        loop = asyncio.get_running_loop()
        with self._lock:
            redis = self._loops.get(loop)
            if redis is None:
                client = redis_asyncio.from_url(
                    self._url,
                    socket_timeout=REDIS_TIMEOUT_SECONDS,
                    socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
                )
                redis = _LoopRedis(
                    client, client.register_script(_RESERVE), client.register_script(_BACKOFF)
                )
                self._loops[loop] = redis
            return redis

    def _key(self, business_number: str, suffix: str) -> str:
        return f"{self._namespace}:{{{business_number}}}:{suffix}"

    def _backoff_key(self, business_number: str, recipient: str) -> str:
        return self._key(business_number, f"backoff:{self._recipient_key(recipient)}")

    def _went_down(self, exc: BaseException, at: str) -> None:
        with self._lock:
            self._retry_redis_at = self._clock() + REDIS_RETRY_SECONDS
            if self._down:
                return
            self._down = True
            # Fresh local state at rate / N for this outage.
            n = max(1, self._instances)
            burst = None if self._burst is None else max(1, self._burst // n)
            self._fallback = Pacer(rate_per_second=self.rate_per_second / n, burst=burst)
        logger.warning(
            "whatsapp.pacing.redis_unavailable at=%s error=%s pacing=local"
            " fallback_rate=%.3g instances=%d",
            at,
            type(exc).__name__,
            self._fallback.rate_per_second,
            n,
        )

    def _came_back(self, instances: int) -> None:
        with self._lock:
            self._instances = max(1, instances)
            if not self._down:
                return
            self._down = False
            self._retry_redis_at = float("-inf")
        logger.warning("whatsapp.pacing.redis_recovered instances=%d", instances)


class RedisCredentialsRefused(Exception):
    """Redis answered, and refused the user or password of the pacing URL (the message holds
    the error's class only: never the URL)."""


def refuses_credentials(error: BaseException) -> bool:
    """Whether Redis's answer is a refusal of the credentials: a wrong password or user
    (WRONGPASS, NOAUTH), a password sent to a server that has none, an ACL user without the
    right to the command."""
    if isinstance(
        error, (AuthenticationError, AuthenticationWrongNumberOfArgsError, NoPermissionError)
    ):
        return True
    # Redis 6+ words a password sent to a server without one as a plain ERR about AUTH.
    return isinstance(error, ResponseError) and "AUTH" in str(error)


async def _ping(url: str, timeout: float) -> None:
    client = redis_asyncio.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
    try:
        await asyncio.wait_for(client.ping(), timeout)
    finally:
        await client.close(close_connection_pool=True)
