from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from compliance.consent.window import is_window_open, window_closes_at

T0 = datetime(2025, 1, 1, 12, 0, tzinfo=timezone.utc)

CASES = [
    ("never inbound", None, T0, False),
    ("just now", T0, T0, True),
    ("23h59", T0, T0 + timedelta(hours=23, minutes=59), True),
    ("exactly 24h is closed", T0, T0 + timedelta(hours=24), False),
    ("25h", T0, T0 + timedelta(hours=25), False),
    ("inbound in the future (skew)", T0 + timedelta(minutes=1), T0, True),
]


@pytest.mark.parametrize(
    ("last", "now", "open_"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_window(last: datetime | None, now: datetime, open_: bool) -> None:
    assert is_window_open(last, now) is open_


def test_closes_at() -> None:
    assert window_closes_at(T0) == T0 + timedelta(hours=24)
    assert window_closes_at(None) is None
    assert window_closes_at(T0, timedelta(hours=1)) == T0 + timedelta(hours=1)
