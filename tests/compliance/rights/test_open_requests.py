"""The open data-subject requests, folded from audit entries: one table of logs and what is open.

Each case is a short audit log, written as (kind, subject, attributes) in seq order, and the seqs
of the requests still open after it, oldest first.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from compliance.audit.entries import AuditEntry
from compliance.rights import ACCESS, ERASURE, format_age, of_subject, open_requests, served_entry
from compliance.rights.requests import OpenRequest

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=timezone.utc)
ANA = "wa_" + "a" * 32
BOB = "wa_" + "b" * 32


def asks(request: Any = "access", **extra: Any) -> dict[str, Any]:
    """The entry actions/rights_requests.py appends after STOP."""
    return {
        "request": request,
        "status": "pending_operator",
        "channel": "chat_after_opt_out",
        **extra,
    }


def served(seq: Any) -> dict[str, Any]:
    return {"command": "rights_request_served", "serves_request_seq": seq, "outcome": "exported"}


def log(*rows: tuple[str, str | None, dict[str, Any]]) -> list[AuditEntry]:
    return [
        AuditEntry(i, T0 + timedelta(hours=i), "action_server", kind, subject, attributes)
        for i, (kind, subject, attributes) in enumerate(rows)
    ]


CASES = [
    ("empty log", [], []),
    ("one access request", [("access_request", ANA, asks())], [0]),
    ("one erasure request", [("access_request", ANA, asks("erasure"))], [0]),
    (
        "oldest first, across subjects",
        [("access_request", BOB, asks()), ("access_request", ANA, asks("erasure"))],
        [0, 1],
    ),
    (
        "a request the bot served in the chat is not pending",
        [("access_request", ANA, {"message_count": 3, "export_size_bytes": 120})],
        [],
    ),
    ("another status is not pending", [("access_request", ANA, asks(status="done"))], []),
    ("a request without subject is ignored", [("access_request", None, asks())], []),
    (
        "served by its seq",
        [("access_request", ANA, asks()), ("operator_command", ANA, served(0))],
        [],
    ),
    (
        "served before it was made closes nothing",
        [("operator_command", ANA, served(1)), ("access_request", ANA, asks())],
        [1],
    ),
    (
        "serving one leaves the other",
        [
            ("access_request", ANA, asks()),
            ("access_request", ANA, asks("erasure")),
            ("operator_command", ANA, served(1)),
        ],
        [0],
    ),
    (
        "a link from another subject closes nothing",
        [("access_request", ANA, asks()), ("operator_command", BOB, served(0))],
        [0],
    ),
    (
        "a link to an entry that is no request closes nothing",
        [
            ("inbound_message", ANA, {}),
            ("access_request", ANA, asks()),
            ("operator_command", ANA, served(0)),
        ],
        [1],
    ),
    (
        "a link that is not an integer closes nothing",
        [("access_request", ANA, asks()), ("operator_command", ANA, served("0"))],
        [0],
    ),
    (
        "a link that is a boolean closes nothing",
        [
            ("access_request", ANA, asks()),
            ("access_request", ANA, asks()),
            ("operator_command", ANA, served(True)),
        ],
        [0, 1],
    ),
    (
        "serving twice is harmless",
        [
            ("access_request", ANA, asks()),
            ("operator_command", ANA, served(0)),
            ("operator_command", ANA, served(0)),
        ],
        [],
    ),
    (
        "an erasure closes every request of the subject",
        [
            ("access_request", ANA, asks()),
            ("access_request", ANA, asks("erasure")),
            ("access_request", BOB, asks()),
            ("erasure", ANA, {"keys_destroyed_count": 1}),
        ],
        [2],
    ),
    (
        "a request after the erasure is open again",
        [("erasure", ANA, {"keys_destroyed_count": 1}), ("access_request", ANA, asks())],
        [1],
    ),
    (
        "an erasure of another subject closes nothing",
        [("access_request", ANA, asks()), ("erasure", BOB, {"keys_destroyed_count": 1})],
        [0],
    ),
    (
        "other kinds are ignored",
        [
            ("access_request", ANA, asks()),
            ("send_refused", ANA, {"reason": "opted_out"}),
            ("consent_change", ANA, {"to_state": "withdrawn"}),
        ],
        [0],
    ),
]


@pytest.mark.parametrize(("entries", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_open_requests(entries: list, expected: list[int]) -> None:
    assert [r.seq for r in open_requests(log(*entries))] == expected


@pytest.mark.parametrize(
    ("label", "kind"),
    [
        ("access", ACCESS),
        ("erasure", ERASURE),
        ("portability", ACCESS),
        (None, ACCESS),
        (3, ACCESS),
    ],
    ids=["access", "erasure", "unknown label", "missing label", "not a string"],
)
def test_the_kind_of_request_degrades_to_access(label: Any, kind: str) -> None:
    attributes = asks()
    attributes["request"] = label
    [request] = open_requests(log(("access_request", ANA, attributes)))
    assert request.request == kind


def test_a_request_carries_what_the_dpo_needs() -> None:
    [request] = open_requests(log(("inbound_message", ANA, {}), ("access_request", ANA, asks())))
    assert request == OpenRequest(1, ANA, ACCESS, T0 + timedelta(hours=1), "chat_after_opt_out")
    now = T0 + timedelta(days=2, hours=1)
    assert request.as_json(now) == {
        "seq": 1,
        "subject": ANA,
        "request": "access",
        "requested_at": "2026-11-01T10:00:00.000000Z",
        "age_seconds": 2 * 86400,
        "channel": "chat_after_opt_out",
    }
    assert request.age(T0) == timedelta(0)  # clock skew: never negative


def test_of_subject_picks_one_subject_and_kind() -> None:
    requests = open_requests(
        log(
            ("access_request", ANA, asks()),
            ("access_request", BOB, asks()),
            ("access_request", ANA, asks("erasure")),
            ("access_request", ANA, asks()),
        )
    )
    assert [r.seq for r in of_subject(requests, ANA, ACCESS)] == [0, 3]
    assert [r.seq for r in of_subject(requests, ANA, ERASURE)] == [2]
    assert of_subject(requests, BOB, ERASURE) == []


def test_the_served_entry_closes_its_request_in_the_fold() -> None:
    [request] = open_requests(log(("access_request", ANA, asks())))
    entry = served_entry(request, "exported")
    assert (entry.component, entry.kind, entry.subject) == ("cli", "operator_command", ANA)
    assert entry.attributes == {
        "command": "rights_request_served",
        "serves_request_seq": 0,
        "request": "access",
        "outcome": "exported",
    }
    closing = AuditEntry(1, T0, entry.component, entry.kind, entry.subject, entry.attributes)
    assert open_requests([*log(("access_request", ANA, asks())), closing]) == []


@pytest.mark.parametrize(
    ("age", "text"),
    [
        (timedelta(seconds=59), "<1m"),
        (timedelta(minutes=7, seconds=30), "7m"),
        (timedelta(hours=5, minutes=12), "5h 12m"),
        (timedelta(hours=1), "1h 0m"),
        (timedelta(days=3, hours=4, minutes=59), "3d 4h"),
        (timedelta(days=31), "31d 0h"),
    ],
    ids=["seconds", "minutes", "hours", "whole hour", "days", "a month"],
)
def test_format_age(age: timedelta, text: str) -> None:
    assert format_age(age) == text


def test_public_names() -> None:
    import compliance.rights

    assert set(compliance.rights.__all__) == {
        "ACCESS",
        "ERASURE",
        "OpenRequest",
        "format_age",
        "of_subject",
        "open_requests",
        "read_open_requests",
        "served_entry",
    }
