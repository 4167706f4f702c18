"""Retry decisions: which errors, how long, when to give up."""

from __future__ import annotations

import random

import pytest

from connectors.whatsapp.graph_errors import (
    AuthError,
    GraphNetworkError,
    OutsideCustomerWindow,
    PairRateLimited,
    Permanent,
    Retryable,
    Throttled,
    UserStoppedMarketing,
)
from connectors.whatsapp.retry_policy import next_delay, parse_retry_after


def rng() -> random.Random:
    return random.Random(1234)


@pytest.mark.parametrize(
    "error",
    [
        Permanent(131009),
        AuthError(190),
        OutsideCustomerWindow(131047),
        UserStoppedMarketing(131050),
    ],
    ids=["permanent", "auth", "outside_window", "stopped_marketing"],
)
def test_non_retryable_never_retries(error) -> None:
    assert next_delay(1, error, None, rng()) is None
    assert next_delay(1, error, 1.0, rng()) is None  # not even when the server says when


@pytest.mark.parametrize(
    "error", [Retryable(131000), Throttled(130429), GraphNetworkError(None, "ConnectError")]
)
def test_full_jitter_within_exponential_ceiling(error) -> None:
    r = rng()
    for attempt, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0)]:
        draws = [next_delay(attempt, error, None, r, max_attempts=10) for _ in range(500)]
        assert all(0.0 <= d <= ceiling for d in draws)
        assert max(draws) > ceiling * 0.9  # full jitter spans the range
        assert min(draws) < ceiling * 0.1


def test_cap_bounds_the_ceiling() -> None:
    r = rng()
    draws = [next_delay(20, Retryable(1), None, r, cap=3.0, max_attempts=50) for _ in range(200)]
    assert all(0.0 <= d <= 3.0 for d in draws)


def test_max_attempts() -> None:
    assert next_delay(3, Retryable(1), None, rng(), max_attempts=4) is not None
    assert next_delay(4, Retryable(1), None, rng(), max_attempts=4) is None
    assert next_delay(1, Retryable(1), None, rng(), max_attempts=1) is None


def test_retry_after_wins_and_is_bounded_by_cap() -> None:
    assert next_delay(1, Throttled(130429), 7.0, rng()) == 7.0
    assert next_delay(1, Throttled(130429), 0.0, rng()) == 0.0
    assert next_delay(1, Throttled(130429), 31.0, rng(), cap=30.0) is None


def test_pair_rate_waits_four_to_the_x() -> None:
    err = PairRateLimited(131056)
    delays = [next_delay(n, err, None, rng(), max_attempts=10) for n in range(1, 5)]
    assert delays == [1.0, 4.0, 16.0, None]  # 64 s > cap 30: give up instead of retrying early


def test_seeded_rng_is_deterministic() -> None:
    assert next_delay(3, Retryable(1), None, rng()) == next_delay(3, Retryable(1), None, rng())


@pytest.mark.parametrize(
    "kwargs",
    [{"attempt": 0}, {"base": 0.0}, {"cap": 0.1}, {"max_attempts": 0}],
    ids=["attempt_0", "base_0", "cap_below_base", "max_attempts_0"],
)
def test_preconditions(kwargs) -> None:
    args = {"attempt": 1, "error": Retryable(1), "retry_after": None, "rng": rng(), **kwargs}
    with pytest.raises(ValueError):
        next_delay(**args)


RETRY_AFTER = [
    ("seconds", "5", None, 5.0),
    ("fraction", "0.25", None, 0.25),
    ("spaces", " 3 ", None, 3.0),
    ("missing", None, None, None),
    ("negative", "-1", None, None),
    ("nan", "nan", None, None),
    ("garbage", "soon", 0.0, None),
    ("http_date", "Wed, 21 Oct 2015 07:28:10 GMT", 1445412480.0, 10.0),
    ("http_date_past", "Wed, 21 Oct 2015 07:28:00 GMT", 1445412490.0, 0.0),
    ("http_date_without_now", "Wed, 21 Oct 2015 07:28:10 GMT", None, None),
]


@pytest.mark.parametrize(
    ("value", "now", "expected"), [c[1:] for c in RETRY_AFTER], ids=[c[0] for c in RETRY_AFTER]
)
def test_parse_retry_after(value, now, expected) -> None:
    assert parse_retry_after(value, now) == expected
