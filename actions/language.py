"""The reply language: chosen at session start from the channel's metadata, then followed by NLU.

The WhatsApp channel passes a minimal metadata dict (country calling code, message type); a
caller may also pass an explicit `language`. `choose_language` is the pure rule; the custom
`action_session_start` applies it and, like Rasa's default session start, carries the previous
session's slots over (when the domain's session_config asks for it). It also mirrors the consent
ledger into the consent slots, so that ConsentPolicy knows a returning user's consent from the
first message of every session (the ledger, not the tracker, is the truth).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from compliance.errors import ComplianceError

logger = logging.getLogger(__name__)

SUPPORTED_LANGUAGES = ("en", "it")
DEFAULT_LANGUAGE = "en"
LANGUAGE_SLOT = "language"
SESSION_METADATA_SLOT = "session_started_metadata"
# Same mapping as bot/compliance.yml `languages.by_calling_code`, so chat and compliance
# messages agree.
LANGUAGE_BY_CALLING_CODE = {"39": "it"}


def _supported(value: Any) -> str | None:
    if isinstance(value, str) and value.strip().lower() in SUPPORTED_LANGUAGES:
        return value.strip().lower()
    return None


def choose_language(metadata: Mapping[str, Any] | None, previous: Any = None) -> str:
    """Language of a new session: metadata `language`, else `country_code`, else the previous
    session's language, else English. Unknown values are skipped, never an error."""
    metadata = metadata or {}
    explicit = _supported(metadata.get("language"))
    if explicit:
        return explicit
    code = metadata.get("country_code")
    if code is not None:
        by_code = LANGUAGE_BY_CALLING_CODE.get(str(code).strip().lstrip("+"))
        if by_code:
            return by_code
    return _supported(previous) or DEFAULT_LANGUAGE


def carried_over_slots(tracker: Tracker) -> list[EventType]:
    """SlotSet events of the previous session, as Rasa's own action_session_start replays them."""
    return [
        SlotSet(key=event["name"], value=event.get("value"))
        for event in tracker.applied_events()
        if event.get("event") == "slot" and event.get("name") != LANGUAGE_SLOT
    ]


def _carry_over(domain: Mapping[str, Any]) -> bool:
    config = domain.get("session_config") or {}
    return bool(config.get("carry_over_slots_to_new_session", True))


class ActionSessionStart(Action):
    """Starts a session in the user's language (see `choose_language`)."""

    def name(self) -> str:
        return "action_session_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        carry_over = _carry_over(domain)
        metadata = tracker.get_slot(SESSION_METADATA_SLOT)
        previous = tracker.get_slot(LANGUAGE_SLOT) if carry_over else None
        events: list[EventType] = [SessionStarted()]
        if carry_over:
            events.extend(carried_over_slots(tracker))
        language = choose_language(metadata if isinstance(metadata, Mapping) else None, previous)
        events.append(SlotSet(LANGUAGE_SLOT, language))
        events.extend(consent_slots(tracker.sender_id))
        events.append(ActionExecuted("action_listen"))
        return events


def consent_slots(subject: str) -> list[EventType]:
    """The subject's consent as recorded in the ledger, as slot events (none if unavailable)."""
    from actions.compliance_context import get_context
    from actions.consent import slot_events

    try:
        context = get_context()
    except ComplianceError as exc:
        logger.warning("consent state unavailable at session start: %s", type(exc).__name__)
        return []
    return slot_events(context.ledger.records(subject))
