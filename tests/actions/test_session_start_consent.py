"""action_session_start mirrors the consent ledger into the consent slots, so that ConsentPolicy
knows a returning user's consent from the first message of each session."""

from __future__ import annotations

import asyncio

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.language import ActionSessionStart
from compliance.consent.model import EventType as E


def _session_slots(subject: str) -> dict:
    tracker = Tracker(subject, {}, {}, [], False, None, {}, "action_listen")
    events = asyncio.run(ActionSessionStart().run(CollectingDispatcher(), tracker, {}))
    return {e["name"]: e["value"] for e in events if e["event"] == "slot"}


def test_a_confirmed_user_starts_the_session_with_confirmed_consent(ctx) -> None:
    subject = "wa_" + "b" * 32
    version = ctx.settings.notice_version
    for event in (E.NOTICE_SHOWN, E.CONSENT_ASKED, E.CONSENT_GIVEN, E.CONFIRMED):
        ctx.ledger.apply(subject, "service", event, notice_version=version, evidence_id="x")
    slots = _session_slots(subject)
    assert slots["consent_state_service"] == "confirmed"
    assert slots["notice_version_accepted"] == version
    assert slots["opted_out"] is False


def test_a_new_user_starts_with_no_consent(ctx) -> None:
    slots = _session_slots("wa_" + "c" * 32)
    assert slots["consent_state_service"] == "none" and slots["opted_out"] is False


def test_without_a_compliance_context_the_session_still_starts() -> None:
    slots = _session_slots("wa_" + "d" * 32)  # no key file in the test environment
    assert "consent_state_service" not in slots and slots["language"] == "en"
