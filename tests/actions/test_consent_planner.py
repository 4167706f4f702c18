"""The consent planner as pure logic: ledger records and the user's answer in, ledger events,
purposes and responses out. One table; the notice-version cases are the point of it (a new
privacy notice asks again for every purpose confirmed under an older one), and so are the
doubtful answers (the NLU's affirm on "??"), which never take a consent step."""

from __future__ import annotations

from typing import Any

import pytest

from actions.consent import Step, plan_consent_step, plan_opt_in
from compliance.consent.answers import Answer
from compliance.consent.model import ConsentRecord, ConsentState, EventType
from compliance.consent.transitions import is_outdated, outdated_purposes

S, E, A = ConsentState, EventType, Answer
NOW = "v2"  # the current privacy notice
NOTICE, ASK, ASK_CONFIRM = "utter_privacy_notice", "utter_ask_consent", "utter_ask_confirm_consent"
CONFIRMED, REFUSED = "utter_consent_confirmed", "utter_consent_refused"
ASK_MKT, CONFIRM_MKT = "utter_ask_marketing_consent", "utter_ask_confirm_marketing"
MKT_CONFIRMED, MKT_WITHDRAWN = "utter_marketing_confirmed", "utter_marketing_withdrawn"
BACK_IN = "utter_opted_back_in_start"


def records(service: tuple[S, str | None], marketing: tuple[S, str | None] = (S.NONE, None)):
    return {
        "service": ConsentRecord("wa_x", "service", service[0], service[1]),
        "marketing": ConsentRecord("wa_x", "marketing", marketing[0], marketing[1]),
    }


def step(events: tuple = (), responses: tuple = (), purposes: tuple = ("service",)) -> Step:
    return Step(tuple(events), tuple(responses), tuple(purposes))


CASES: list[tuple[str, dict[str, Any], Answer, Step]] = [
    # label, records, answer (compliance/consent/answers.py), expected step
    (
        "confirmed on the current notice: nothing to do",
        records((S.CONFIRMED, NOW), (S.CONFIRMED, NOW)),
        A.NONE,
        step(),
    ),
    (
        "notice changed, service only: service asked again",
        records((S.CONFIRMED, "v1")),
        A.NONE,
        step((E.NOTICE_VERSION_CHANGED,), (NOTICE, ASK)),
    ),
    (
        "notice changed, service and marketing: both asked again in one move",
        records((S.CONFIRMED, "v1"), (S.CONFIRMED, "v1")),
        A.NONE,
        step((E.NOTICE_VERSION_CHANGED,), (NOTICE, ASK), ("service", "marketing")),
    ),
    (
        "notice changed, marketing only (service refused): the marketing question",
        records((S.REFUSED, "v1"), (S.CONFIRMED, "v1")),
        A.NONE,
        step((E.NOTICE_VERSION_CHANGED,), (NOTICE, ASK_MKT), ("marketing",)),
    ),
    (
        "notice changed, withdrawn marketing stays withdrawn",
        records((S.CONFIRMED, "v1"), (S.WITHDRAWN, "v1")),
        A.NONE,
        step((E.NOTICE_VERSION_CHANGED,), (NOTICE, ASK)),
    ),
    (
        "notice changed twice: still one move for what was confirmed",
        records((S.CONFIRMED, "v0"), (S.CONFIRMED, "v1")),
        A.NONE,
        step((E.NOTICE_VERSION_CHANGED,), (NOTICE, ASK), ("service", "marketing")),
    ),
    (
        "re-asked, yes: first step for service only",
        records((S.ASKED, NOW), (S.ASKED, NOW)),
        A.YES,
        step((E.CONSENT_GIVEN,), (ASK_CONFIRM,)),
    ),
    (
        "re-asked, confirm: service confirmed, then the marketing question",
        records((S.AWAITING_CONFIRMATION, NOW), (S.ASKED, NOW)),
        A.YES,
        step((E.CONFIRMED,), (CONFIRMED, ASK_MKT)),
    ),
    (
        "first double opt-in, confirm: no marketing question for who never had it",
        records((S.AWAITING_CONFIRMATION, NOW)),
        A.YES,
        step((E.CONFIRMED,), (CONFIRMED,)),
    ),
    (
        "re-asked, service refused: marketing stays asked, not asked now",
        records((S.AWAITING_CONFIRMATION, NOW), (S.ASKED, NOW)),
        A.NO,
        step((E.REFUSED,), (REFUSED,)),
    ),
    (
        "marketing question, yes: the marketing confirmation request",
        records((S.CONFIRMED, NOW), (S.ASKED, NOW)),
        A.YES,
        step((E.CONSENT_GIVEN,), (CONFIRM_MKT,), ("marketing",)),
    ),
    (
        "marketing question, no: refused, order updates go on",
        records((S.CONFIRMED, NOW), (S.ASKED, NOW)),
        A.NO,
        step((E.REFUSED,), (MKT_WITHDRAWN,), ("marketing",)),
    ),
    (
        "marketing confirmation, confirm",
        records((S.CONFIRMED, NOW), (S.AWAITING_CONFIRMATION, NOW)),
        A.YES,
        step((E.CONFIRMED,), (MKT_CONFIRMED,), ("marketing",)),
    ),
    (
        "marketing confirmation, not now",
        records((S.CONFIRMED, NOW), (S.AWAITING_CONFIRMATION, NOW)),
        A.NO,
        step((E.REFUSED,), (MKT_WITHDRAWN,), ("marketing",)),
    ),
    (
        "marketing question pending, something else: nothing",
        records((S.CONFIRMED, NOW), (S.ASKED, NOW)),
        A.NONE,
        step(),
    ),
    (
        "web form for both: one tap confirms both",
        records((S.AWAITING_CONFIRMATION, NOW), (S.AWAITING_CONFIRMATION, NOW)),
        A.YES,
        step((E.CONFIRMED,), (CONFIRMED,), ("service", "marketing")),
    ),
    (
        "service asked, offers awaiting their tap: a yes answers the open question",
        records((S.ASKED, NOW), (S.AWAITING_CONFIRMATION, NOW)),
        A.YES,
        step((E.CONSENT_GIVEN,), (ASK_CONFIRM,)),
    ),
    (
        "service asked, offers awaiting their tap: a no refuses order updates only",
        records((S.ASKED, NOW), (S.AWAITING_CONFIRMATION, NOW)),
        A.NO,
        step((E.REFUSED,), (REFUSED,)),
    ),
    (
        "web form for offers only, after a refusal: the marketing confirmation",
        records((S.REFUSED, NOW), (S.AWAITING_CONFIRMATION, NOW)),
        A.YES,
        step((E.CONFIRMED,), (MKT_CONFIRMED,), ("marketing",)),
    ),
    (
        "web form for offers only, not now",
        records((S.REFUSED, NOW), (S.AWAITING_CONFIRMATION, NOW)),
        A.NO,
        step((E.REFUSED,), (MKT_WITHDRAWN,), ("marketing",)),
    ),
    (
        "new user",
        records((S.NONE, None)),
        A.NONE,
        step((E.NOTICE_SHOWN, E.CONSENT_ASKED), (NOTICE, ASK)),
    ),
    ("refused: silence", records((S.REFUSED, NOW)), A.NONE, step()),
    # A doubtful yes (typed noise the NLU calls affirm) never moves consent: the same question.
    ("asked, doubtful yes: asked again", records((S.ASKED, NOW)), A.UNCLEAR, step((), (ASK,))),
    (
        "awaiting confirmation, doubtful yes: the confirmation request again",
        records((S.AWAITING_CONFIRMATION, NOW)),
        A.UNCLEAR,
        step((), (ASK_CONFIRM,)),
    ),
    (
        "web form for both, doubtful yes: confirms neither",
        records((S.AWAITING_CONFIRMATION, NOW), (S.AWAITING_CONFIRMATION, NOW)),
        A.UNCLEAR,
        step((), (ASK_CONFIRM,)),
    ),
    (
        "marketing question, doubtful yes: asked again",
        records((S.CONFIRMED, NOW), (S.ASKED, NOW)),
        A.UNCLEAR,
        step((), (ASK_MKT,), ("marketing",)),
    ),
    (
        "marketing confirmation, doubtful yes: the confirmation request again",
        records((S.CONFIRMED, NOW), (S.AWAITING_CONFIRMATION, NOW)),
        A.UNCLEAR,
        step((), (CONFIRM_MKT,), ("marketing",)),
    ),
    (
        "web form for offers only after a refusal, doubtful yes: nothing",
        records((S.REFUSED, NOW), (S.AWAITING_CONFIRMATION, NOW)),
        A.UNCLEAR,
        step(),
    ),
    (
        "opted out, doubtful yes: silence",
        records((S.WITHDRAWN, NOW), (S.WITHDRAWN, NOW)),
        A.UNCLEAR,
        step(),
    ),
    (
        "opted out: silence, even with marketing confirmed under an old notice",
        records((S.WITHDRAWN, "v1"), (S.WITHDRAWN, "v1")),
        A.NONE,
        step(),
    ),
]


@pytest.mark.parametrize(
    ("recs", "answer", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_plan_consent_step(recs: dict, answer: Answer, expected: Step) -> None:
    assert plan_consent_step(recs, NOW, answer) == expected


OPT_IN_CASES = [
    (
        "START, subscribed on the current notice: says so",
        records((S.CONFIRMED, NOW)),
        step((), (CONFIRMED,)),
    ),
    (
        "START, subscribed on an older notice: asked again",
        records((S.CONFIRMED, "v1"), (S.CONFIRMED, "v1")),
        step((E.NOTICE_VERSION_CHANGED,), (NOTICE, ASK), ("service", "marketing")),
    ),
    (
        "START, service current but marketing outdated: marketing asked again",
        records((S.CONFIRMED, NOW), (S.CONFIRMED, "v1")),
        step((E.NOTICE_VERSION_CHANGED,), (NOTICE, ASK_MKT), ("marketing",)),
    ),
    (
        "START after STOP, the notice seen is the current one: the question",
        records((S.WITHDRAWN, NOW), (S.WITHDRAWN, NOW)),
        step((E.OPT_IN_RESTART,), (BACK_IN, ASK)),
    ),
    (
        "START after a STOP that followed an erasure (no notice on record): notice and question",
        records((S.WITHDRAWN, None), (S.WITHDRAWN, None)),
        step((E.OPT_IN_RESTART,), (BACK_IN, NOTICE, ASK)),
    ),
    (
        "START after STOP, the notice changed since: notice and question",
        records((S.WITHDRAWN, "v1"), (S.WITHDRAWN, "v1")),
        step((E.OPT_IN_RESTART,), (BACK_IN, NOTICE, ASK)),
    ),
    (
        "START after an erasure without STOP: notice and question, as for a newcomer",
        records((S.ERASED, None), (S.ERASED, None)),
        step((E.NOTICE_SHOWN, E.CONSENT_ASKED), (NOTICE, ASK)),
    ),
]


@pytest.mark.parametrize(
    ("recs", "expected"), [c[1:] for c in OPT_IN_CASES], ids=[c[0] for c in OPT_IN_CASES]
)
def test_plan_opt_in(recs: dict, expected: Step) -> None:
    assert plan_opt_in(recs, NOW) == expected


OUTDATED_CASES = [
    # label, state, accepted version, current version, outdated
    ("confirmed on the current notice", S.CONFIRMED, "v2", "v2", False),
    ("confirmed on an older notice", S.CONFIRMED, "v1", "v2", True),
    ("confirmed with no version recorded", S.CONFIRMED, None, "v2", True),
    ("no current version configured", S.CONFIRMED, "v1", None, False),
    ("asked on an older notice is no consent anyway", S.ASKED, "v1", "v2", False),
    ("withdrawn on an older notice", S.WITHDRAWN, "v1", "v2", False),
]


@pytest.mark.parametrize(
    ("state", "accepted", "current", "expected"),
    [c[1:] for c in OUTDATED_CASES],
    ids=[c[0] for c in OUTDATED_CASES],
)
def test_is_outdated(state: S, accepted: str | None, current: str | None, expected: bool) -> None:
    assert is_outdated(state, accepted, current) is expected


def test_outdated_purposes_keeps_the_records_order() -> None:
    recs = records((S.CONFIRMED, "v1"), (S.CONFIRMED, "v1"))
    assert outdated_purposes(recs, "v2") == ("service", "marketing")
    assert outdated_purposes(recs, "v1") == ()
