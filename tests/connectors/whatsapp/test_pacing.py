"""Pacer: token bucket per business number, backoff per recipient; the clock is a number."""

from __future__ import annotations

import pytest

from connectors.whatsapp import limits
from connectors.whatsapp.pacing import Pacer


def test_default_rate_is_metas_80_per_second_with_one_second_burst() -> None:
    pacer = Pacer()
    delays = [pacer.reserve(0.0, f"user{i}") for i in range(81)]
    assert delays[:80] == [0.0] * 80
    assert delays[80] == pytest.approx(1 / limits.DEFAULT_MESSAGES_PER_SECOND)


def test_reservations_queue_up_at_the_configured_rate() -> None:
    pacer = Pacer(rate_per_second=20, burst=1)
    delays = [pacer.reserve(10.0) for _ in range(4)]
    assert delays == pytest.approx([0.0, 0.05, 0.10, 0.15])


def test_bucket_refills_with_time() -> None:
    pacer = Pacer(rate_per_second=2, burst=2)
    assert [pacer.reserve(0.0) for _ in range(3)] == pytest.approx([0.0, 0.0, 0.5])
    assert pacer.reserve(5.0) == 0.0  # long idle: full burst again
    assert pacer.reserve(5.0) == 0.0


def test_business_numbers_have_separate_buckets() -> None:
    pacer = Pacer(rate_per_second=1, burst=1)
    assert pacer.reserve(0.0, business_number="111") == 0.0
    assert pacer.reserve(0.0, business_number="222") == 0.0
    assert pacer.reserve(0.0, business_number="111") == pytest.approx(1.0)


def test_pair_rate_backoff_delays_only_that_recipient() -> None:
    pacer = Pacer()
    pacer.pair_rate_limited(100.0, "alice", 4.0)
    assert pacer.reserve(101.0, "alice") == pytest.approx(3.0)
    assert pacer.reserve(101.0, "bob") == 0.0  # one user in backoff holds up nobody else
    assert pacer.reserve(104.5, "alice") == 0.0
    assert pacer.blocked_recipients(101.0) == 1 and pacer.blocked_recipients(105.0) == 0


def test_a_shorter_penalty_never_shortens_a_longer_one() -> None:
    pacer = Pacer()
    pacer.pair_rate_limited(0.0, "alice", 16.0)
    pacer.pair_rate_limited(1.0, "alice", 1.0)
    assert pacer.reserve(2.0, "alice") == pytest.approx(14.0)


def test_expired_penalties_are_pruned() -> None:
    pacer = Pacer()
    for i in range(10_001):
        pacer.pair_rate_limited(0.0, f"u{i}", 1.0)
    pacer.pair_rate_limited(50.0, "late", 1.0)
    assert pacer.blocked_recipients(50.0) == 1
    assert len(pacer._blocked_until) == 1


@pytest.mark.parametrize("kwargs", [{"rate_per_second": 0}, {"rate_per_second": -1}, {"burst": 0}])
def test_invalid_configuration(kwargs) -> None:
    with pytest.raises(ValueError):
        Pacer(**kwargs)
