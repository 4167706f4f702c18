"""The end-to-end tests share one stack, so each test must talk as phone numbers of its own:
two tests on one number see each other's consent and conversation (a failure that depends on
the order tests run in). This keeps every literal number in tests/e2e unique."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

E2E = Path(__file__).resolve().parent / "e2e"
NUMBER = re.compile(r'"(?:44|39)\d{9,11}"')


def test_each_literal_phone_number_is_used_by_one_test_file_line() -> None:
    seen = Counter(
        (match, f"{path.name}:{line_no}")
        for path in sorted(E2E.glob("*.py"))
        for line_no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        for match in NUMBER.findall(line)
    )
    by_number: dict[str, list[str]] = {}
    for number, where in seen:
        by_number.setdefault(number, []).append(where)
    shared = {number: places for number, places in by_number.items() if len(places) > 1}
    assert not shared, f"phone numbers used in more than one place: {shared}"
