"""Table of send-guard cases: label, inputs that differ from the base, expected decision."""

from __future__ import annotations

from typing import Any

import pytest

from compliance.consent.model import ConsentState as S
from compliance.consent.send_guard import Allow, Refuse, RefuseReason, UseTemplate, may_send

BASE: dict[str, Any] = {
    "state_by_purpose": {"service": S.CONFIRMED, "marketing": S.NONE},
    "message_purpose": "service",
    "message_kind": "business",
    "opted_out": False,
    "opt_out_confirmation_sent": False,
    "window_open": True,
    "template_available": False,
}

CASES = [
    ("confirmed business in window", {}, Allow()),
    (
        "marketing without consent",
        {"message_purpose": "marketing"},
        Refuse(RefuseReason.NO_CONSENT),
    ),
    (
        "marketing withdrawn",
        {
            "message_purpose": "marketing",
            "state_by_purpose": {"service": S.CONFIRMED, "marketing": S.WITHDRAWN},
        },
        Refuse(RefuseReason.NO_CONSENT),
    ),
    ("unknown purpose", {"message_purpose": "surveys"}, Refuse(RefuseReason.NO_CONSENT)),
    (
        "awaiting confirmation business",
        {"state_by_purpose": {"service": S.AWAITING_CONFIRMATION}},
        Refuse(RefuseReason.NO_CONSENT),
    ),
    (
        "consent flow without consent",
        {"state_by_purpose": {}, "message_kind": "consent_flow"},
        Allow(),
    ),
    (
        "refused, consent flow",
        {"state_by_purpose": {"service": S.REFUSED}, "message_kind": "consent_flow"},
        Allow(),
    ),
    ("opted out business", {"opted_out": True}, Refuse(RefuseReason.OPTED_OUT)),
    (
        "opted out consent flow",
        {"opted_out": True, "message_kind": "consent_flow"},
        Refuse(RefuseReason.OPTED_OUT),
    ),
    (
        "opted out first confirmation",
        {"opted_out": True, "message_kind": "opt_out_confirmation"},
        Allow(),
    ),
    (
        "opted out second confirmation",
        {
            "opted_out": True,
            "opt_out_confirmation_sent": True,
            "message_kind": "opt_out_confirmation",
        },
        Refuse(RefuseReason.OPT_OUT_CONFIRMATION_ALREADY_SENT),
    ),
    (
        "opted out confirmation outside window",
        {
            "opted_out": True,
            "window_open": False,
            "message_kind": "opt_out_confirmation",
            "template_available": True,
        },
        Refuse(RefuseReason.OUTSIDE_WINDOW),
    ),
    (
        "confirmation when not opted out",
        {"message_kind": "opt_out_confirmation"},
        Refuse(RefuseReason.NOT_OPTED_OUT),
    ),
    ("window closed, free-form", {"window_open": False}, Refuse(RefuseReason.OUTSIDE_WINDOW)),
    (
        "window closed, template replaces",
        {"window_open": False, "template_available": True, "template_name": "order_update"},
        UseTemplate("order_update"),
    ),
    (
        "window closed, configured template",
        {"window_open": False, "template_available": True},
        UseTemplate(None),
    ),
    ("window closed, message is a template", {"window_open": False, "is_template": True}, Allow()),
    (
        "window closed, consent template",
        {
            "window_open": False,
            "is_template": True,
            "message_kind": "consent_flow",
            "state_by_purpose": {},
        },
        Allow(),
    ),
    (
        "service confirmed under an older notice",
        {"outdated_purposes": frozenset({"service"})},
        Refuse(RefuseReason.NOTICE_OUTDATED),
    ),
    (
        "marketing confirmed under an older notice",
        {
            "message_purpose": "marketing",
            "state_by_purpose": {"service": S.CONFIRMED, "marketing": S.CONFIRMED},
            "outdated_purposes": frozenset({"marketing"}),
        },
        Refuse(RefuseReason.NOTICE_OUTDATED),
    ),
    (
        "marketing on the current notice",
        {
            "message_purpose": "marketing",
            "state_by_purpose": {"service": S.CONFIRMED, "marketing": S.CONFIRMED},
        },
        Allow(),
    ),
    (
        "service current, only marketing outdated",
        {
            "state_by_purpose": {"service": S.CONFIRMED, "marketing": S.CONFIRMED},
            "outdated_purposes": frozenset({"marketing"}),
        },
        Allow(),
    ),
    (
        "outdated notice, consent flow asks again",
        {"outdated_purposes": frozenset({"service"}), "message_kind": "consent_flow"},
        Allow(),
    ),
    (
        "outdated notice, opted out",
        {"outdated_purposes": frozenset({"service"}), "opted_out": True},
        Refuse(RefuseReason.OPTED_OUT),
    ),
    (
        "window closed, no consent: consent first",
        {"window_open": False, "state_by_purpose": {}, "template_available": True},
        Refuse(RefuseReason.NO_CONSENT),
    ),
]


@pytest.mark.parametrize(
    ("overrides", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_may_send(overrides: dict[str, Any], expected: object) -> None:
    assert may_send(**{**BASE, **overrides}) == expected


def test_unknown_kind_is_an_error() -> None:
    with pytest.raises(ValueError):
        may_send(**{**BASE, "message_kind": "newsletter"})
