"""Pacing: the GCRA arithmetic as a table, and the in-process Pacer over it (clock = a number)."""

from __future__ import annotations

from typing import NamedTuple

import pytest

from connectors.whatsapp import limits
from connectors.whatsapp.pacing import Pacer
from connectors.whatsapp.pacing_gcra import Gcra


class Case(NamedTuple):
    label: str
    rate: float
    burst: int | None
    tat: float | None  # state before the booking (None: bucket never used)
    now: float
    wait: float
    next_tat: float


GCRA_CASES = [
    Case("fresh bucket sends now", 10, 1, None, 5.0, 0.0, 5.1),
    Case("idle bucket: no credit banked", 10, 1, 2.0, 5.0, 0.0, 5.1),
    Case("booked ahead: wait one interval", 10, 1, 5.1, 5.0, 0.1, 5.2),
    Case("booked far ahead: wait until the slot", 10, 1, 6.0, 5.0, 1.0, 6.1),
    Case("tat exactly now: no wait", 10, 1, 5.0, 5.0, 0.0, 5.1),
    Case("burst 3: third message inside tolerance", 10, 3, 5.2, 5.0, 0.0, 5.3),
    Case("burst 3: fourth message waits", 10, 3, 5.3, 5.0, 0.1, 5.4),
    Case("default burst is one second's worth", 80, None, 5.0 + 79 / 80, 5.0, 0.0, 6.0),
    Case("default burst, one more waits one interval", 80, None, 6.0, 5.0, 1 / 80, 6.0 + 1 / 80),
    Case("rate below 1/s: burst at least 1", 0.5, None, 7.0, 5.0, 2.0, 9.0),
    Case("upgraded number (1000/s)", 1000, 1, 5.0005, 5.0, 0.0005, 5.0015),
]


@pytest.mark.parametrize("case", GCRA_CASES, ids=[c.label for c in GCRA_CASES])
def test_gcra_booking(case: Case) -> None:
    slot = Gcra.per_second(case.rate, case.burst).book(case.tat, case.now)
    assert slot.wait == pytest.approx(case.wait)
    assert slot.tat == pytest.approx(case.next_tat)


@pytest.mark.parametrize(
    ("rate", "burst", "field"),
    [(0, None, "rate_per_second"), (-1, None, "rate_per_second"), (10, 0, "burst")],
    ids=["zero rate", "negative rate", "zero burst"],
)
def test_gcra_rejects_invalid_settings_by_name(rate: float, burst: int | None, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        Gcra.per_second(rate, burst)


def test_default_rate_is_metas_80_per_second_with_one_second_burst() -> None:
    pacer = Pacer()
    delays = [pacer.reserve_now(0.0, f"user{i}") for i in range(81)]
    assert delays[:80] == [0.0] * 80
    assert delays[80] == pytest.approx(1 / limits.DEFAULT_MESSAGES_PER_SECOND)


def test_reservations_queue_up_at_the_configured_rate() -> None:
    pacer = Pacer(rate_per_second=20, burst=1)
    delays = [pacer.reserve_now(10.0) for _ in range(4)]
    assert delays == pytest.approx([0.0, 0.05, 0.10, 0.15])


def test_bucket_refills_with_time() -> None:
    pacer = Pacer(rate_per_second=2, burst=2)
    assert [pacer.reserve_now(0.0) for _ in range(3)] == pytest.approx([0.0, 0.0, 0.5])
    assert pacer.reserve_now(5.0) == 0.0  # long idle: full burst again
    assert pacer.reserve_now(5.0) == 0.0


def test_business_numbers_have_separate_buckets() -> None:
    pacer = Pacer(rate_per_second=1, burst=1)
    assert pacer.reserve_now(0.0, business_number="111") == 0.0
    assert pacer.reserve_now(0.0, business_number="222") == 0.0
    assert pacer.reserve_now(0.0, business_number="111") == pytest.approx(1.0)


async def test_pair_rate_backoff_delays_only_that_recipient() -> None:
    pacer = Pacer()
    await pacer.pair_rate_limited(100.0, "alice", 4.0)
    assert await pacer.reserve(101.0, "alice") == pytest.approx(3.0)
    assert await pacer.reserve(101.0, "bob") == 0.0  # one user in backoff holds up nobody else
    assert await pacer.reserve(104.5, "alice") == 0.0
    assert pacer.blocked_recipients(101.0) == 1 and pacer.blocked_recipients(105.0) == 0


def test_pair_rate_backoff_is_per_business_number() -> None:
    pacer = Pacer()
    pacer.pair_rate_limited_now(0.0, "alice", 4.0, business_number="111")
    assert pacer.reserve_now(1.0, "alice", business_number="111") == pytest.approx(3.0)
    assert pacer.reserve_now(1.0, "alice", business_number="222") == 0.0


def test_a_shorter_penalty_never_shortens_a_longer_one() -> None:
    pacer = Pacer()
    pacer.pair_rate_limited_now(0.0, "alice", 16.0)
    pacer.pair_rate_limited_now(1.0, "alice", 1.0)
    assert pacer.reserve_now(2.0, "alice") == pytest.approx(14.0)


def test_expired_penalties_are_pruned() -> None:
    pacer = Pacer()
    for i in range(10_001):
        pacer.pair_rate_limited_now(0.0, f"u{i}", 1.0)
    pacer.pair_rate_limited_now(50.0, "late", 1.0)
    assert pacer.blocked_recipients(50.0) == 1
    assert len(pacer._blocked_until) == 1


@pytest.mark.parametrize("kwargs", [{"rate_per_second": 0}, {"rate_per_second": -1}, {"burst": 0}])
def test_invalid_configuration(kwargs) -> None:
    with pytest.raises(ValueError):
        Pacer(**kwargs)
