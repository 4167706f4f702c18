"""Session start: the reply language from the channel's metadata, slots carried over."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.language import ActionSessionStart, choose_language


@pytest.mark.parametrize(
    ("metadata", "previous", "expected"),
    [
        ({"language": "it"}, None, "it"),
        ({"language": "IT "}, None, "it"),
        ({"language": "en", "country_code": "39"}, None, "en"),  # explicit beats the number
        ({"country_code": "39"}, None, "it"),
        ({"country_code": "+39"}, "en", "it"),
        ({"country_code": 39}, None, "it"),
        ({"country_code": "44"}, None, "en"),
        ({"country_code": "49"}, "it", "it"),  # no Italian number, but the user wrote Italian
        ({"language": "fr"}, None, "en"),  # unsupported: skipped
        ({}, None, "en"),
        (None, None, "en"),
        (None, "it", "it"),
        (None, "de", "en"),
    ],
)
def test_choose_language(metadata: dict[str, Any] | None, previous: Any, expected: str) -> None:
    assert choose_language(metadata, previous) == expected


def _tracker(events: list[dict[str, Any]], slots: dict[str, Any]) -> Tracker:
    return Tracker(
        sender_id="pseudo-test",
        slots=slots,
        latest_message={},
        events=events,
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name=None,
    )


async def _run(tracker: Tracker, domain: dict[str, Any]) -> list[dict[str, Any]]:
    return await ActionSessionStart().run(CollectingDispatcher(), tracker, domain)


async def test_session_start_sets_language_and_carries_slots_over() -> None:
    metadata = {"country_code": "39", "message_type": "text"}
    events = [
        {"event": "slot", "name": "order_number", "value": "A1234"},
        {"event": "slot", "name": "language", "value": "en"},
        {"event": "slot", "name": "session_started_metadata", "value": metadata},
    ]
    slots = {"order_number": "A1234", "language": "en", "session_started_metadata": metadata}
    result = await _run(_tracker(events, slots), {"session_config": {}})

    assert result[0]["event"] == "session_started"
    assert (result[-1]["event"], result[-1]["name"]) == ("action", "action_listen")
    slot_events = {e["name"]: e["value"] for e in result if e["event"] == "slot"}
    assert slot_events["order_number"] == "A1234"
    assert slot_events["language"] == "it"
    # The language is set once, after the carried-over slots.
    assert [e["name"] for e in result if e["event"] == "slot"].count("language") == 1


async def test_session_start_without_carry_over() -> None:
    events = [{"event": "slot", "name": "order_number", "value": "A1234"}]
    slots = {"order_number": "A1234", "language": "it", "session_started_metadata": None}
    domain = {"session_config": {"carry_over_slots_to_new_session": False}}
    result = await _run(_tracker(events, slots), domain)

    slot_events = {e["name"]: e["value"] for e in result if e["event"] == "slot"}
    assert slot_events == {"language": "en"}  # nothing carried, not even the old language
