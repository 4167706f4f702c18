"""The pure decision table: label, view overrides, expected decision."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from compliance.consent.answers import Answer as A
from compliance.consent.keywords import KeywordMatch as K
from compliance.policy.decision import (
    ALLOWED_BEFORE_CONSENT,
    Abstain,
    ConsentView,
    Keep,
    Overrule,
    Run,
    decide,
    review,
)

NEW = ConsentView(
    service_state=None,
    opted_out=False,
    notice_version_accepted=None,
    current_notice_version="v2",
    latest_intent="greet",
    keyword=K.NONE,
    at_user_turn=True,
)
OK = {"service_state": "confirmed", "notice_version_accepted": "v2"}

CASES: list[tuple[str, dict[str, Any], Any]] = [
    ("new user greets", {}, Run("action_consent_step", "")),
    ("new user asks order", {"latest_intent": "order_status"}, Run("action_consent_step", "")),
    ("new user asks help", {"latest_intent": "help"}, Run("utter_help", "")),
    ("new user asks privacy", {"latest_intent": "ask_privacy"}, Run("action_privacy_notice", "")),
    (
        "asked, says yes",
        {"service_state": "asked", "latest_intent": "affirm"},
        Run("action_consent_step", ""),
    ),
    (
        "awaiting, taps confirm",
        {"service_state": "awaiting_confirmation", "latest_intent": "affirm"},
        Run("action_consent_step", ""),
    ),
    (
        "refused, anything",
        {"service_state": "refused", "latest_intent": "order_status"},
        Run("action_listen", ""),
    ),
    (
        "refused, taps confirm",
        {"service_state": "refused", "latest_intent": "affirm", "answer": A.YES},
        Run("action_consent_step", ""),
    ),
    (
        "refused, typed noise the NLU calls affirm: silence",
        {"service_state": "refused", "latest_intent": "affirm", "answer": A.UNCLEAR},
        Run("action_listen", ""),
    ),
    ("refused, START", {"service_state": "refused", "keyword": K.OPT_IN}, Run("action_opt_in", "")),
    ("confirmed, business", {**OK, "latest_intent": "order_status"}, Abstain("")),
    (
        "confirmed, old notice",
        {
            "service_state": "confirmed",
            "notice_version_accepted": "v1",
            "latest_intent": "order_status",
        },
        Run("action_consent_step", ""),
    ),
    ("confirmed, no notice slot", {"service_state": "confirmed"}, Run("action_consent_step", "")),
    ("confirmed, STOP keyword", {**OK, "keyword": K.OPT_OUT}, Run("action_opt_out", "")),
    ("confirmed, opt_out intent", {**OK, "latest_intent": "opt_out"}, Run("action_opt_out", "")),
    ("new user, STOP", {"keyword": K.OPT_OUT}, Run("action_opt_out", "")),
    ("stop marketing keyword", {**OK, "keyword": K.MARKETING_STOP}, Run("action_opt_out", "")),
    ("stop marketing intent", {**OK, "latest_intent": "stop_marketing"}, Run("action_opt_out", "")),
    (
        "opted out, business",
        {"opted_out": True, "service_state": "withdrawn", "latest_intent": "order_status"},
        Run("action_listen", ""),
    ),
    ("opted out, STOP again", {"opted_out": True, "keyword": K.OPT_OUT}, Run("action_listen", "")),
    ("opted out, help", {"opted_out": True, "latest_intent": "help"}, Run("action_listen", "")),
    (
        "opted out, privacy",
        {"opted_out": True, "latest_intent": "ask_privacy"},
        Run("action_listen", ""),
    ),
    (
        "opted out, asks for their data: recorded for the DPO, nothing sent",
        {"opted_out": True, "latest_intent": "ask_my_data"},
        Run("action_record_rights_request", ""),
    ),
    (
        "opted out, asks to be deleted: recorded for the DPO, nothing sent",
        {"opted_out": True, "latest_intent": "delete_my_data"},
        Run("action_record_rights_request", ""),
    ),
    ("opted out, START", {"opted_out": True, "keyword": K.OPT_IN}, Run("action_opt_in", "")),
    (
        "opted out, opt_in intent",
        {"opted_out": True, "latest_intent": "opt_in"},
        Run("action_opt_in", ""),
    ),
    (
        "opted out, stale slot and confirm tap",
        {**OK, "opted_out": True, "latest_intent": "affirm", "answer": A.YES},
        Run("action_consent_step", ""),
    ),
    (
        "opted out, typed noise the NLU calls affirm: silence",
        {**OK, "opted_out": True, "latest_intent": "affirm", "answer": A.UNCLEAR},
        Run("action_listen", ""),
    ),
    (
        "subscribed, the Confirm tap of a web-form opt-in that awaits it",
        {**OK, "latest_intent": "affirm", "answer": A.YES, "optin_awaiting": True},
        Run("action_consent_step", ""),
    ),
    (
        "subscribed, a yes with no opt-in awaiting: the business flow answers",
        {**OK, "latest_intent": "affirm", "answer": A.YES},
        Abstain(""),
    ),
    (
        "subscribed, noise while an opt-in awaits: not a confirmation",
        {**OK, "latest_intent": "affirm", "answer": A.UNCLEAR, "optin_awaiting": True},
        Abstain(""),
    ),
    ("confirmed, export", {**OK, "latest_intent": "ask_my_data"}, Run("action_data_export", "")),
    ("confirmed, erase", {**OK, "latest_intent": "delete_my_data"}, Run("action_data_erase", "")),
    (
        "erase question answered yes",
        {"latest_intent": "affirm", "pending_question": "action_data_erase", "answer": A.YES},
        Run("action_data_erase", ""),
    ),
    (
        "erase question answered with noise the NLU calls affirm: the action asks again",
        {
            **OK,
            "latest_intent": "affirm",
            "pending_question": "action_data_erase",
            "answer": A.UNCLEAR,
        },
        Run("action_data_erase", ""),
    ),
    (
        "erase question answered no",
        {**OK, "latest_intent": "deny", "pending_question": "action_data_erase", "answer": A.NO},
        Run("action_data_erase", ""),
    ),
    (
        "notice changed: confirmed on an older notice",
        {
            "service_state": "confirmed",
            "notice_version_accepted": "v1",
            "marketing_state": "confirmed",
            "latest_intent": "order_status",
        },
        Run("action_consent_step", ""),
    ),
    (
        "marketing question answered yes",
        {
            **OK,
            "marketing_state": "asked",
            "latest_intent": "affirm",
            "answer": A.YES,
            "pending_question": "action_consent_step",
        },
        Run("action_consent_step", ""),
    ),
    (
        "marketing question answered no",
        {
            **OK,
            "marketing_state": "asked",
            "latest_intent": "deny",
            "answer": A.NO,
            "pending_question": "action_consent_step",
        },
        Run("action_consent_step", ""),
    ),
    (
        "marketing confirmation tapped",
        {
            **OK,
            "marketing_state": "awaiting_confirmation",
            "latest_intent": "affirm",
            "answer": A.YES,
            "pending_question": "action_consent_step",
        },
        Run("action_consent_step", ""),
    ),
    (
        "marketing confirmation, typed noise: the consent step asks again",
        {
            **OK,
            "marketing_state": "awaiting_confirmation",
            "latest_intent": "affirm",
            "answer": A.UNCLEAR,
            "pending_question": "action_consent_step",
        },
        Run("action_consent_step", ""),
    ),
    (
        "marketing question ignored: the order question is answered",
        {
            **OK,
            "marketing_state": "asked",
            "latest_intent": "order_status",
            "pending_question": "action_consent_step",
        },
        Abstain(""),
    ),
    (
        "a later yes is not an answer to an old marketing question",
        {**OK, "marketing_state": "asked", "latest_intent": "affirm"},
        Abstain(""),
    ),
    (
        "marketing question pending, but STOP",
        {
            **OK,
            "marketing_state": "asked",
            "keyword": K.OPT_OUT,
            "pending_question": "action_consent_step",
        },
        Run("action_opt_out", ""),
    ),
    (
        "marketing question pending, erasure question first",
        {
            **OK,
            "marketing_state": "asked",
            "latest_intent": "affirm",
            "pending_question": "action_data_erase",
            "answer": A.YES,
        },
        Run("action_data_erase", ""),
    ),
    (
        "after consent action",
        {"at_user_turn": False, "latest_action": "action_consent_step"},
        Run("action_listen", ""),
    ),
    (
        "after consent action, confirmed",
        {**OK, "at_user_turn": False, "latest_action": "action_privacy_notice"},
        Run("action_listen", ""),
    ),
    (
        "after help",
        {"at_user_turn": False, "latest_action": "utter_help"},
        Run("action_listen", ""),
    ),
    (
        "mid-turn, no consent",
        {"at_user_turn": False, "latest_action": "utter_greet"},
        Run("action_listen", ""),
    ),
    (
        "mid-turn, confirmed",
        {**OK, "at_user_turn": False, "latest_action": "utter_greet"},
        Abstain(""),
    ),
]


def _same(actual: Any, expected: Any) -> bool:
    if isinstance(expected, Run):
        return isinstance(actual, Run) and actual.action == expected.action
    return isinstance(actual, Abstain)


@pytest.mark.parametrize(
    ("overrides", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_decide(overrides: dict[str, Any], expected: Any) -> None:
    actual = decide(replace(NEW, **overrides))
    assert _same(actual, expected), actual
    assert actual.reason  # every decision says why


MARKETING_CASES = [
    # label, view overrides, marketing_confirmed
    ("both confirmed on the current notice", {**OK, "marketing_state": "confirmed"}, True),
    (
        "both confirmed on an older notice",
        {**OK, "notice_version_accepted": "v1", "marketing_state": "confirmed"},
        False,
    ),
    ("marketing asked again", {**OK, "marketing_state": "asked"}, False),
    ("marketing never given", {**OK, "marketing_state": "none"}, False),
    ("opted out", {**OK, "marketing_state": "confirmed", "opted_out": True}, False),
    ("service not confirmed", {"marketing_state": "confirmed"}, False),
]


@pytest.mark.parametrize(
    ("overrides", "expected"), [c[1:] for c in MARKETING_CASES], ids=[c[0] for c in MARKETING_CASES]
)
def test_marketing_is_confirmed_only_on_the_current_notice(
    overrides: dict[str, Any], expected: bool
) -> None:
    assert replace(NEW, **overrides).marketing_confirmed is expected


def test_review_keeps_or_overrules() -> None:
    assert review(replace(NEW, **OK), "utter_order_status") == Keep("utter_order_status")
    overruled = review(NEW, "utter_order_status")
    assert isinstance(overruled, Overrule) and overruled.action == "action_consent_step"
    assert review(NEW, "action_consent_step") == Keep("action_consent_step")


VIEWS = st.builds(
    ConsentView,
    service_state=st.sampled_from(
        [
            None,
            "none",
            "notice_shown",
            "asked",
            "awaiting_confirmation",
            "confirmed",
            "refused",
            "withdrawn",
            "expired",
            "erased",
        ]
    ),
    opted_out=st.booleans(),
    notice_version_accepted=st.sampled_from([None, "v1", "v2"]),
    current_notice_version=st.just("v2"),
    latest_intent=st.sampled_from(
        [
            None,
            "greet",
            "order_status",
            "affirm",
            "deny",
            "help",
            "opt_out",
            "opt_in",
            "stop_marketing",
            "ask_privacy",
            "ask_my_data",
            "delete_my_data",
        ]
    ),
    keyword=st.sampled_from(list(K)),
    at_user_turn=st.booleans(),
    latest_action=st.sampled_from([None, "action_consent_step", "utter_greet", "utter_help"]),
    pending_question=st.sampled_from([None, "action_data_erase", "action_consent_step"]),
    marketing_state=st.sampled_from([None, "none", "asked", "awaiting_confirmation", "confirmed"]),
    answer=st.sampled_from(list(A)),
)


@given(VIEWS, st.sampled_from(["utter_order_status", "action_order_status", "utter_greet"]))
def test_no_business_action_survives_without_consent(view: ConsentView, business: str) -> None:
    outcome = review(view, business)
    if not view.consent_confirmed:
        assert isinstance(outcome, Overrule) and outcome.action in ALLOWED_BEFORE_CONSENT
    if view.opted_out:
        # Nothing that writes to the user, but a silent record of a data-subject request.
        silent_or_opt_in = {"action_listen", "action_opt_in", "action_consent_step"}
        assert outcome.action in silent_or_opt_in | {"action_record_rights_request"}
