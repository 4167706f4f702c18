"""The consent actions over a real ledger, for the two breaches the random WhatsApp
conversations found (issue 5): typed noise the NLU calls `affirm` must not give or confirm
consent, and a STOP after "delete my data" must silence the bot until START."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from actions.consent import ActionConsentStep, ActionOptIn, ActionOptOut
from actions.rights import ActionDataErase
from compliance.consent import ConsentState, EventType

STEP, OUT, IN, ERASE = ActionConsentStep(), ActionOptOut(), ActionOptIn(), ActionDataErase()
NOTICE, ASK = "utter_privacy_notice", "utter_ask_consent"
ASK_CONFIRM, CONFIRMED = "utter_ask_confirm_consent", "utter_consent_confirmed"


def service(ctx, chat) -> ConsentState:
    return ctx.ledger.state(chat.sender_id)["service"]


def events(ctx, chat) -> list[EventType]:
    return [r.event for r in ctx.ledger.history(chat.sender_id) if r.purpose == "service"]


NOISE = ["??", "🙂", "👍", "yes but what for?", "affirm"]  # "affirm": a typed "/affirm", unslashed


@pytest.mark.parametrize("noise", NOISE)
def test_noise_at_the_question_gives_no_consent(ctx, chat, noise: str) -> None:
    assert chat.step("greet", STEP, text="hi") == [NOTICE, ASK]
    assert chat.step("affirm", STEP, text=noise) == [ASK]  # asked again, nothing recorded
    assert service(ctx, chat) is ConsentState.ASKED
    assert EventType.CONSENT_GIVEN not in events(ctx, chat)


@pytest.mark.parametrize("noise", NOISE)
def test_noise_at_the_confirmation_does_not_confirm(ctx, chat, noise: str) -> None:
    chat.step("greet", STEP, text="hi")
    assert chat.step("affirm", STEP, text="/affirm") == [ASK_CONFIRM]
    assert chat.step("affirm", STEP, text=noise) == [ASK_CONFIRM]
    assert service(ctx, chat) is ConsentState.AWAITING_CONFIRMATION
    assert chat.step("affirm", STEP, text="/affirm") == [CONFIRMED]
    assert service(ctx, chat) is ConsentState.CONFIRMED


@pytest.mark.parametrize(("first", "second"), [("YES", "Confirm"), ("sì", "Confermo!")])
def test_an_explicit_word_gives_and_confirms_consent(ctx, chat, first: str, second: str) -> None:
    chat.step("greet", STEP, text="hi")
    assert chat.step("affirm", STEP, text=first) == [ASK_CONFIRM]
    assert chat.step("affirm", STEP, text=second) == [CONFIRMED]
    assert events(ctx, chat)[-2:] == [EventType.CONSENT_GIVEN, EventType.CONFIRMED]


def consent_changes(ctx, subject: str) -> list[dict]:
    query = sa.text(
        "SELECT attributes FROM audit_entries WHERE subject = :s AND kind = 'consent_change' "
        "ORDER BY seq"
    )
    with ctx.ledger._engine.connect() as conn:
        return [json.loads(a) for a in conn.execute(query, {"s": subject}).scalars()]


def test_stop_after_erasure_is_recorded_and_silences_until_start(ctx, chat) -> None:
    chat.sender_id = ctx.vault.register("phone", "+39 333 765 4321")
    assert chat.step("delete_my_data", ERASE, text="delete my data") == ["utter_ask_delete_confirm"]
    assert chat.step("affirm", ERASE, text="/affirm") == ["utter_data_deleted"]
    assert service(ctx, chat) is ConsentState.ERASED

    assert chat.step("opt_out", OUT, text="STOP") == ["utter_opt_out_confirmed"]
    assert set(ctx.ledger.state(chat.sender_id).values()) == {ConsentState.WITHDRAWN}
    stop = [c for c in consent_changes(ctx, chat.sender_id) if c["event"] == "withdrawn"]
    assert {(c["purpose"], c["from_state"]) for c in stop} == {
        ("service", "erased"),
        ("marketing", "erased"),
    }
    assert all(c["evidence_hash"] for c in stop)  # the STOP message is the evidence
    context = ctx.ledger.send_context(chat.sender_id)
    assert context.opted_out and not context.opt_out_confirmation_sent

    # The channel marks the one confirmation sent; a second STOP sends nothing.
    ctx.ledger.mark_opt_out_confirmation_sent(chat.sender_id)
    assert chat.step("opt_out", OUT, text="STOP") == []
    assert chat.step("greet", STEP, text="hi") == []  # if it ran at all: nothing to say

    # START: a fresh double opt-in, with the notice again (erasure forgot which one was seen).
    assert chat.step("opt_in", IN, text="START") == ["utter_opted_back_in_start", NOTICE, ASK]
    assert service(ctx, chat) is ConsentState.ASKED
