"""The consent actions over a real ledger: double opt-in both ways, refusal, notice versions,
STOP / stop marketing, START, external opt-in, expiry."""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from actions.consent import (
    ActionConsentStep,
    ActionOptIn,
    ActionOptOut,
    ActionPrivacyNotice,
    opt_out_scope,
)
from compliance.consent import (
    Allow,
    ConsentState,
    KeywordMatch,
    MessageKind,
    Refuse,
    RefuseReason,
    may_send,
)

STEP, OUT, IN, NOTICE = ActionConsentStep(), ActionOptOut(), ActionOptIn(), ActionPrivacyNotice()
ASKED_TURN = ["utter_privacy_notice", "utter_ask_consent"]


def states(ctx, chat) -> dict[str, str]:
    return {p: s.value for p, s in ctx.ledger.state(chat.sender_id).items()}


def confirm(chat) -> None:
    assert chat.step("greet", STEP) == ASKED_TURN
    assert chat.step("affirm", STEP) == ["utter_ask_confirm_consent"]
    assert chat.step("affirm", STEP) == ["utter_consent_confirmed"]


def guard(ctx, chat, kind: MessageKind, purpose: str = "service"):
    c = ctx.ledger.send_context(chat.sender_id)
    return may_send(
        c.state_by_purpose,
        purpose,
        kind,
        c.opted_out,
        c.opt_out_confirmation_sent,
        True,
        False,
        outdated_purposes=c.outdated_purposes,
    )


def new_notice(ctx, version: str) -> None:
    """What a new bot/compliance.yml does to the action server and the channel's ledger."""
    ctx.settings = dataclasses.replace(ctx.settings, notice_version=version)
    ctx.ledger.notice_version = version


def consent_audit(ctx, subject: str) -> list[dict]:
    query = sa.text(
        "SELECT attributes FROM audit_entries WHERE subject = :s AND kind = 'consent_change' "
        "ORDER BY seq"
    )
    with ctx.ledger._engine.connect() as conn:
        return [json.loads(a) for a in conn.execute(query, {"s": subject}).scalars()]


@pytest.mark.parametrize("language", ["en", "it"])
def test_double_opt_in_confirms_only_on_the_second_yes(ctx, chat, language) -> None:
    chat.slots["language"] = language
    chat.say("greet", "ciao")
    sent = chat.run(STEP)
    assert [m["response"] for m in sent] == ASKED_TURN
    assert sent[0]["notice_version"] == "2025-01"
    assert sent[0]["notice_url"] == f"https://shop.example.com/privacy/{language}"
    assert chat.slots["consent_state_service"] == "asked"
    assert chat.step("affirm", STEP) == ["utter_ask_confirm_consent"]
    assert chat.slots["consent_state_service"] == "awaiting_confirmation"
    assert guard(ctx, chat, MessageKind.BUSINESS) == Refuse(RefuseReason.NO_CONSENT)
    assert chat.step("affirm", STEP) == ["utter_consent_confirmed"]
    assert chat.slots["consent_state_service"] == "confirmed"
    assert chat.slots["notice_version_accepted"] == "2025-01"
    assert chat.slots["opted_out"] is False
    assert guard(ctx, chat, MessageKind.BUSINESS) == Allow()
    history = ctx.ledger.history(chat.sender_id)
    assert [r.event.value for r in history] == [
        "notice_shown",
        "consent_asked",
        "consent_given",
        "confirmed",
    ]
    assert all(r.evidence_hash and len(r.evidence_hash) == 64 for r in history)


@pytest.mark.parametrize("at_step", [1, 2])
def test_refusal_is_acknowledged_once_then_nothing(ctx, chat, at_step) -> None:
    chat.step("greet", STEP)
    if at_step == 2:
        chat.step("affirm", STEP)
    assert chat.step("deny", STEP) == ["utter_consent_refused"]
    assert states(ctx, chat)["service"] == "refused"
    assert chat.step("greet", STEP) == []
    assert chat.step("deny", STEP) == []
    assert chat.step("affirm", STEP) == []  # no pending opt-in: a stray yes confirms nothing
    assert states(ctx, chat)["service"] == "refused"


def test_unrelated_message_repeats_the_pending_question(ctx, chat) -> None:
    chat.step("greet", STEP)
    assert chat.step("order_status", STEP) == ["utter_ask_consent"]
    chat.step("affirm", STEP)
    assert chat.step("order_status", STEP) == ["utter_ask_confirm_consent"]


def test_new_notice_version_asks_again(ctx, chat) -> None:
    confirm(chat)
    new_notice(ctx, "2025-06")
    assert guard(ctx, chat, MessageKind.BUSINESS) == Refuse(RefuseReason.NOTICE_OUTDATED)
    assert chat.step("order_status", STEP) == ASKED_TURN
    assert chat.slots["consent_state_service"] == "asked"
    assert chat.slots["notice_version_accepted"] is None
    confirm_again = [chat.step("affirm", STEP), chat.step("affirm", STEP)]
    assert confirm_again == [["utter_ask_confirm_consent"], ["utter_consent_confirmed"]]
    assert chat.slots["notice_version_accepted"] == "2025-06"


@pytest.mark.parametrize("language", ["en", "it"])
def test_new_notice_asks_again_for_marketing_too(ctx, chat, language) -> None:
    chat.slots["language"] = language
    ctx.ledger.record_external_optin(chat.sender_id, ["service", "marketing"], evidence_id="f1")
    assert chat.step("affirm", STEP, text="/affirm") == ["utter_consent_confirmed"]
    assert guard(ctx, chat, MessageKind.BUSINESS, "marketing") == Allow()
    before = len(ctx.ledger.history(chat.sender_id))

    new_notice(ctx, "2025-06")
    # Until the user confirms the new notice, neither purpose has consent.
    for purpose in ("service", "marketing"):
        assert guard(ctx, chat, MessageKind.BUSINESS, purpose) == Refuse(
            RefuseReason.NOTICE_OUTDATED
        )
    assert chat.step("order_status", STEP) == ASKED_TURN
    assert states(ctx, chat) == {"service": "asked", "marketing": "asked"}
    assert chat.slots["consent_state_marketing"] == "asked"
    assert chat.step("affirm", STEP) == ["utter_ask_confirm_consent"]
    assert chat.step("affirm", STEP) == ["utter_consent_confirmed", "utter_ask_marketing_consent"]
    assert guard(ctx, chat, MessageKind.BUSINESS, "service") == Allow()
    assert guard(ctx, chat, MessageKind.BUSINESS, "marketing") == Refuse(RefuseReason.NO_CONSENT)
    assert chat.step("affirm", STEP) == ["utter_ask_confirm_marketing"]
    assert chat.step("affirm", STEP) == ["utter_marketing_confirmed"]
    assert guard(ctx, chat, MessageKind.BUSINESS, "marketing") == Allow()
    assert states(ctx, chat) == {"service": "confirmed", "marketing": "confirmed"}

    changes = ctx.ledger.history(chat.sender_id)[before:]
    assert [(r.purpose, r.event.value) for r in changes] == [
        ("service", "notice_version_changed"),
        ("marketing", "notice_version_changed"),
        ("service", "consent_given"),
        ("service", "confirmed"),
        ("marketing", "consent_given"),
        ("marketing", "confirmed"),
    ]
    assert {r.notice_version for r in changes} == {"2025-06"}
    assert all(r.evidence_hash for r in changes)  # each change proven by the user's message
    audited = consent_audit(ctx, chat.sender_id)[before:]
    assert [(a["purpose"], a["event"]) for a in audited] == [
        (r.purpose, r.event.value) for r in changes
    ]


def test_new_notice_marketing_refused_keeps_order_updates(ctx, chat) -> None:
    ctx.ledger.record_external_optin(chat.sender_id, ["service", "marketing"], evidence_id="f2")
    chat.step("affirm", STEP, text="/affirm")
    new_notice(ctx, "2025-06")
    chat.step("greet", STEP)
    chat.step("affirm", STEP)
    assert chat.step("affirm", STEP)[-1] == "utter_ask_marketing_consent"
    assert chat.step("deny", STEP) == ["utter_marketing_withdrawn"]
    assert states(ctx, chat) == {"service": "confirmed", "marketing": "refused"}
    assert guard(ctx, chat, MessageKind.BUSINESS, "marketing") == Refuse(RefuseReason.NO_CONSENT)
    assert guard(ctx, chat, MessageKind.BUSINESS, "service") == Allow()
    assert chat.step("affirm", STEP) == []  # a stray yes later confirms nothing


def test_stop_withdraws_everything_and_only_the_confirmation_may_follow(ctx, chat) -> None:
    confirm(chat)
    assert chat.step("opt_out", OUT, text="STOP") == ["utter_opt_out_confirmed"]
    assert set(states(ctx, chat).values()) == {"withdrawn"}
    assert chat.slots["opted_out"] is True
    for kind in (MessageKind.BUSINESS, MessageKind.CONSENT_FLOW):
        assert guard(ctx, chat, kind) == Refuse(RefuseReason.OPTED_OUT)
    assert guard(ctx, chat, MessageKind.OPT_OUT_CONFIRMATION) == Allow()
    ctx.ledger.mark_opt_out_confirmation_sent(chat.sender_id)  # what the channel does on send
    assert guard(ctx, chat, MessageKind.OPT_OUT_CONFIRMATION) == Refuse(
        RefuseReason.OPT_OUT_CONFIRMATION_ALREADY_SENT
    )
    assert chat.step("opt_out", OUT, text="STOP") == []  # a second STOP sends nothing
    assert chat.step("greet", OUT, text="Annulla!") == []


def test_stop_keyword_wins_over_a_misread_intent(ctx, chat) -> None:
    confirm(chat)
    assert chat.step("greet", OUT, text=" stöp!! ") == ["utter_opt_out_confirmed"]
    assert chat.slots["opted_out"] is True


def test_stop_marketing_keeps_order_updates(ctx, chat) -> None:
    confirm(chat)
    assert chat.step("stop_marketing", OUT, text="no more offers") == ["utter_marketing_withdrawn"]
    assert states(ctx, chat) == {"service": "confirmed", "marketing": "withdrawn"}
    assert chat.slots["opted_out"] is False
    assert chat.slots["consent_state_marketing"] == "withdrawn"
    assert guard(ctx, chat, MessageKind.BUSINESS, "marketing") == Refuse(RefuseReason.NO_CONSENT)
    assert guard(ctx, chat, MessageKind.BUSINESS, "service") == Allow()


def test_start_reruns_the_double_opt_in(ctx, chat) -> None:
    confirm(chat)
    chat.step("opt_out", OUT, text="STOP")
    assert chat.step("opt_in", IN, text="START") == [
        "utter_opted_back_in_start",
        "utter_ask_consent",
    ]
    assert chat.slots["opted_out"] is False
    assert guard(ctx, chat, MessageKind.BUSINESS) == Refuse(RefuseReason.NO_CONSENT)
    assert chat.step("affirm", STEP) == ["utter_ask_confirm_consent"]
    assert chat.step("affirm", STEP) == ["utter_consent_confirmed"]
    assert guard(ctx, chat, MessageKind.BUSINESS) == Allow()
    assert states(ctx, chat)["marketing"] == "withdrawn"  # START reopens order updates only


def test_start_after_refusal_and_for_a_stranger(ctx, chat) -> None:
    assert chat.step("opt_in", IN, text="iscrivimi") == ASKED_TURN
    chat.step("deny", STEP)
    assert chat.step("opt_in", IN, text="START") == [
        "utter_opted_back_in_start",
        "utter_ask_consent",
    ]
    confirm_turns = [chat.step("affirm", STEP), chat.step("affirm", STEP)]
    assert confirm_turns[-1] == ["utter_consent_confirmed"]
    assert chat.step("opt_in", IN, text="START") == ["utter_consent_confirmed"]


def test_privacy_notice_on_request(ctx, chat) -> None:
    chat.slots["language"] = "it"
    chat.say("ask_privacy", "informativa")
    sent = chat.run(NOTICE)
    assert [m["response"] for m in sent] == ["utter_privacy_notice"]
    assert sent[0]["notice_url"].endswith("/it")
    assert states(ctx, chat)["service"] == "notice_shown"
    assert chat.step("greet", STEP) == ["utter_ask_consent"]  # notice already shown
    chat.step("affirm", STEP)
    chat.step("affirm", STEP)
    assert chat.step("ask_privacy", NOTICE) == ["utter_privacy_notice"]
    assert states(ctx, chat)["service"] == "confirmed"


def test_external_opt_in_is_confirmed_by_the_tap(ctx, chat) -> None:
    ctx.ledger.record_external_optin(chat.sender_id, ["service", "marketing"], evidence_id="f1")
    assert chat.step("affirm", STEP, text="/affirm") == ["utter_consent_confirmed"]
    assert states(ctx, chat) == {"service": "confirmed", "marketing": "confirmed"}


def test_late_confirmation_expires_and_asks_again(ctx, chat) -> None:
    chat.step("greet", STEP)
    chat.step("affirm", STEP)
    later = ctx.clock() + ctx.ledger.pending_expiry + timedelta(minutes=1)
    ctx.clock = lambda: later
    assert chat.step("affirm", STEP) == ASKED_TURN
    events = [r.event.value for r in ctx.ledger.history(chat.sender_id)]
    assert "expire" in events and "confirmed" not in events


@pytest.mark.parametrize(
    ("intent", "keyword", "expected"),
    [
        ("opt_out", KeywordMatch.NONE, None),
        ("greet", KeywordMatch.OPT_OUT, None),
        ("stop_marketing", KeywordMatch.NONE, ("marketing",)),
        ("greet", KeywordMatch.MARKETING_STOP, ("marketing",)),
        ("opt_out", KeywordMatch.MARKETING_STOP, None),
        ("stop_marketing", KeywordMatch.OPT_OUT, None),
        (None, KeywordMatch.NONE, None),
    ],
)
def test_opt_out_scope(intent, keyword, expected) -> None:
    assert opt_out_scope(intent, keyword) == expected


def test_states_are_plain_ledger_values(ctx, chat) -> None:
    chat.step("greet", STEP)
    assert ctx.ledger.state(chat.sender_id)["service"] is ConsentState.ASKED
