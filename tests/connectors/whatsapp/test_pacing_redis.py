"""RedisPacer against a real Redis (SIGILLO_TEST_REDIS_URL): two pacers stand for two server
instances sharing one business number. Skipped with a reason when the URL is unset; the
fallback tests need no Redis (they point at a port where nothing listens)."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
import os
import secrets
import socket
import time

import pytest
import redis.asyncio as redis_asyncio
from redis.exceptions import ConnectionError as RedisConnectionError

from connectors.whatsapp.pacing_redis import REDIS_RETRY_SECONDS, RedisPacer

REDIS_ENV = "SIGILLO_TEST_REDIS_URL"
NUMBER = "106540352242922"
PSEUDONYM = "wa_3f2a9c"
NOTHING_LISTENS = "redis://127.0.0.1:1/0"


def recipient_key(recipient: str) -> str:
    """Stands in for the gate's keyed hash (same answer on every instance)."""
    return hashlib.sha256(b"test-key\0" + recipient.encode()).hexdigest()[:32]


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get(REDIS_ENV)
    if not url:
        pytest.skip(f"{REDIS_ENV} is not set (e.g. redis://127.0.0.1:6379/0)")
    return url


@pytest.fixture
async def namespace(redis_url: str):
    """A fresh key prefix per test, deleted afterwards."""
    prefix = f"sigillo-test:pacing:{secrets.token_hex(4)}"
    yield prefix
    client = redis_asyncio.from_url(redis_url)
    keys = [key async for key in client.scan_iter(match=f"{prefix}:*")]
    if keys:
        await client.delete(*keys)
    await client.close(close_connection_pool=True)


def instances(url: str, namespace: str, n: int, **kwargs) -> list[RedisPacer]:
    return [
        RedisPacer(url, recipient_key=recipient_key, namespace=namespace, **kwargs)
        for _ in range(n)
    ]


async def test_two_instances_never_exceed_the_rate_together(redis_url, namespace) -> None:
    rate, count = 50.0, 200
    a, b = instances(redis_url, namespace, 2, rate_per_second=rate, burst=1)
    # Send times on Redis's clock (the one the slots are booked on), so that the check is exact
    # however slow this machine answers.
    # Interleaved, a few at a time: 200 at once opened 100 connections per instance, and on a
    # busy machine one of them outlasted the pacer's 0.5 s Redis timeout (a fallback, not a
    # pacing error, but then nothing is booked to check).
    at_once = asyncio.Semaphore(8)

    async def book(i: int) -> tuple[float, float] | None:
        async with at_once:
            return await (a, b)[i % 2].book_in_redis(f"user{i}", NUMBER)

    booked = await asyncio.gather(*(book(i) for i in range(count)))
    await a.aclose()
    await b.aclose()
    assert None not in booked, "Redis did not answer within the pacer's timeout"
    send_times = sorted(redis_now + wait for redis_now, wait in booked)  # type: ignore[misc]
    # 200 slots at 50/s span 199 intervals (3.98 s): together, not 2 x 50/s.
    assert send_times[-1] - send_times[0] >= (count - 1) / rate - 1e-3
    gaps = [later - earlier for earlier, later in zip(send_times, send_times[1:], strict=False)]
    assert min(gaps) >= 1 / rate - 1e-5  # never two in one interval (µs-rounded state)


async def test_reserve_is_the_wait_of_the_booking(redis_url, namespace) -> None:
    a, b = instances(redis_url, namespace, 2, rate_per_second=50.0, burst=1)
    at_once = asyncio.Semaphore(8)  # as above: not 50 new connections per instance at once

    async def reserve(i: int) -> float:
        async with at_once:
            return await (a, b)[i % 2].reserve(0.0, None, NUMBER)

    waits = await asyncio.gather(*(reserve(i) for i in range(100)))
    assert min(waits) == 0.0 and max(waits) >= 99 / 50 - 0.5  # slack: this machine's slowness
    for pacer in (a, b):
        await pacer.aclose()


async def test_burst_is_shared_too(redis_url, namespace) -> None:
    a, b = instances(redis_url, namespace, 2, rate_per_second=10, burst=4)
    waits = [await pacer.reserve(0.0, None, NUMBER) for pacer in (a, b, a, b, a)]
    assert waits[:4] == [0.0] * 4
    assert 0.05 < waits[4] <= 0.1 + 1e-3  # the fifth of the pair waits about one interval
    for pacer in (a, b):
        await pacer.aclose()


async def test_pair_rate_backoff_is_seen_by_the_other_instance(redis_url, namespace) -> None:
    a, b = instances(redis_url, namespace, 2, rate_per_second=80)
    await a.pair_rate_limited(0.0, PSEUDONYM, 2.0, NUMBER)
    assert 1.8 < await b.reserve(0.0, PSEUDONYM, NUMBER) <= 2.0
    assert await b.reserve(0.0, "wa_someone_else", NUMBER) == 0.0
    assert await b.reserve(0.0, PSEUDONYM, "999") == 0.0  # the pair is (number, recipient)
    await a.pair_rate_limited(0.0, PSEUDONYM, 0.5, NUMBER)  # shorter: does not shorten it
    assert await b.reserve(0.0, PSEUDONYM, NUMBER) > 1.5
    for pacer in (a, b):
        await pacer.aclose()


async def test_redis_holds_hashes_and_expiring_keys_only(redis_url, namespace) -> None:
    (pacer,) = instances(redis_url, namespace, 1)
    await pacer.reserve(0.0, PSEUDONYM, NUMBER)
    await pacer.pair_rate_limited(0.0, PSEUDONYM, 3.0, NUMBER)
    await pacer.aclose()
    client = redis_asyncio.from_url(redis_url)
    keys = [key.decode() async for key in client.scan_iter(match=f"{namespace}:*")]
    ttls = [await client.pttl(key) for key in keys]
    await client.close(close_connection_pool=True)
    assert len(keys) == 3  # bucket, instances, one backoff
    assert all(PSEUDONYM not in key for key in keys)
    assert f"{namespace}:{{{NUMBER}}}:backoff:{recipient_key(PSEUDONYM)}" in keys
    assert all(0 < ttl <= 120_000 for ttl in ttls)  # nothing stays forever


async def test_redis_unreachable_falls_back_to_local_pacing_and_logs_a_code(caplog) -> None:
    clock = Clock()
    pacer = RedisPacer(
        NOTHING_LISTENS, recipient_key=recipient_key, rate_per_second=10, burst=1, clock=clock
    )
    with caplog.at_level(logging.WARNING, logger="connectors.whatsapp.pacing_redis"):
        waits = [await pacer.reserve(5.0, PSEUDONYM, NUMBER) for _ in range(3)]
    assert waits == pytest.approx([0.0, 0.1, 0.2])  # paced locally, nothing dropped
    codes = [r.getMessage().split()[0] for r in caplog.records]
    assert codes == ["whatsapp.pacing.redis_unavailable"]  # once per outage, not per message
    assert "127.0.0.1" not in caplog.text  # the URL (and any password in it) is never logged
    await pacer.pair_rate_limited(5.0, PSEUDONYM, 4.0, NUMBER)
    assert await pacer.reserve(6.0, PSEUDONYM, NUMBER) == pytest.approx(3.0)
    await pacer.aclose()


async def test_fallback_divides_the_rate_by_the_instances_last_seen(
    redis_url, namespace, monkeypatch, caplog
) -> None:
    clock = Clock()
    a, b = instances(redis_url, namespace, 2, rate_per_second=10, burst=1, clock=clock)
    await a.reserve(0.0, None, NUMBER)
    await b.reserve(0.0, None, NUMBER)  # b now knows of two instances

    async def unreachable(*args, **kwargs):
        raise RedisConnectionError("down")

    loop = asyncio.get_running_loop()  # b's connection on this loop now fails
    monkeypatch.setitem(b._loops, loop, dataclasses.replace(b._loops[loop], reserve=unreachable))
    with caplog.at_level(logging.WARNING, logger="connectors.whatsapp.pacing_redis"):
        waits = [await b.reserve(50.0, None, NUMBER) for _ in range(3)]
    assert waits == pytest.approx([0.0, 0.2, 0.4])  # 10/s shared by 2: 5/s each
    assert "instances=2" in caplog.text
    monkeypatch.undo()
    clock.now += REDIS_RETRY_SECONDS  # time to try Redis again: it answers
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="connectors.whatsapp.pacing_redis"):
        await b.reserve(50.0, None, NUMBER)
    assert "whatsapp.pacing.redis_recovered" in caplog.text
    for pacer in (a, b):
        await pacer.aclose()


def test_repr_hides_the_url() -> None:
    pacer = RedisPacer("redis://:hunter2@cache:6379/0", recipient_key=recipient_key)
    assert "hunter2" not in repr(pacer) and "cache" not in repr(pacer)


def test_check_at_start_up_finds_redis_and_says_nothing_alarming(redis_url, caplog) -> None:
    pacer = RedisPacer(redis_url, recipient_key=recipient_key)
    with caplog.at_level(logging.INFO, logger="connectors.whatsapp.pacing_redis"):
        assert pacer.check() is True
    assert [r.getMessage() for r in caplog.records] == ["whatsapp.pacing.redis_ready"]


def test_check_at_start_up_without_redis_warns_once_and_paces_locally(caplog) -> None:
    clock = Clock()
    url = "redis://:hunter2-redis-password@127.0.0.1:1/0"  # a closed port
    pacer = RedisPacer(url, recipient_key=recipient_key, rate_per_second=10, burst=1, clock=clock)
    with caplog.at_level(logging.WARNING, logger="connectors.whatsapp.pacing_redis"):
        assert pacer.check() is False
        # The first sends do not wait on Redis again: paced locally, nothing more logged.
        waits = [asyncio.run(pacer.reserve(5.0, PSEUDONYM, NUMBER)) for _ in range(3)]
    assert waits == pytest.approx([0.0, 0.1, 0.2])
    (record,) = caplog.records
    assert record.levelno == logging.WARNING
    assert record.getMessage().split()[:3] == [
        "whatsapp.pacing.redis_unavailable",
        "at=start",
        "error=ConnectionError",
    ]
    assert "pacing=local" in record.getMessage() and "fallback_rate=10" in record.getMessage()
    assert "hunter2" not in caplog.text and "127.0.0.1" not in caplog.text


async def test_a_send_after_the_retry_interval_finds_redis_come_back(
    redis_url, namespace, caplog
) -> None:
    """Start without Redis, Redis answers later: the start-up warning is not the last word."""
    clock = Clock()
    (pacer,) = instances(redis_url, namespace, 1, clock=clock)
    pacer._url = NOTHING_LISTENS  # Redis down at start-up ...
    assert pacer.check() is False
    pacer._url = redis_url  # ... and up again by the first retry
    clock.now += REDIS_RETRY_SECONDS
    with caplog.at_level(logging.WARNING, logger="connectors.whatsapp.pacing_redis"):
        assert await pacer.book_in_redis(PSEUDONYM, NUMBER) is not None
    assert "whatsapp.pacing.redis_recovered" in caplog.text
    await pacer.aclose()


def test_check_gives_up_within_its_timeout_when_redis_never_answers(caplog) -> None:
    silent = socket.socket()  # accepts connections (the backlog) and never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        url = f"redis://127.0.0.1:{silent.getsockname()[1]}/0"
        pacer = RedisPacer(url, recipient_key=recipient_key)
        started = time.monotonic()
        with caplog.at_level(logging.WARNING, logger="connectors.whatsapp.pacing_redis"):
            assert pacer.check(timeout=0.2) is False
        assert time.monotonic() - started < 1.5
        assert "whatsapp.pacing.redis_unavailable at=start error=TimeoutError" in caplog.text
    finally:
        silent.close()
