"""Order lookup and the order-status action, in both reply languages."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.orders import (
    FIXTURE,
    ActionOrderStatus,
    find_order_number,
    format_date,
    load_orders,
    lookup_order,
    normalize_order_number,
    order_reply_values,
    parse_orders,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("A1234", "A1234"), ("a1234", "A1234"), (" a-1234 ", "A1234"), ("#100234", "100234")],
)
def test_normalize_order_number(raw: str, expected: str) -> None:
    assert normalize_order_number(raw) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("where is order a1234?", "A1234"),
        ("ordine n. 100234", "100234"),
        ("it's B-5678", "B5678"),
        ("where is my order", None),
        ("call 3331234567", None),  # a phone number is not an order number
        (None, None),
    ],
)
def test_find_order_number(text: str | None, expected: str | None) -> None:
    assert find_order_number(text) == expected


def test_fixture_has_6_to_10_orders_with_known_statuses() -> None:
    orders = load_orders()
    assert 6 <= len(orders) <= 10
    assert all(number == normalize_order_number(number) for number in orders)


def test_lookup_order() -> None:
    orders = load_orders()
    found = lookup_order("a1234", orders)
    assert found is not None and found.status == "shipped" and found.carrier == "BRT"
    assert lookup_order("Z9999", orders) is None


def test_unknown_status_in_fixture_is_an_error_naming_it() -> None:
    with pytest.raises(ValueError, match="lost"):
        parse_orders({"orders": [{"number": "A1", "status": "lost"}]})


def test_reply_values_per_language() -> None:
    order = load_orders()["A1234"]
    assert order_reply_values(order, "en") == {
        "order_number": "A1234",
        "status": "shipped",
        "carrier": "BRT",
        "eta": "14 March 2025",
    }
    assert order_reply_values(order, "it")["status"] == "spedito"
    assert order_reply_values(order, "it")["eta"] == "14 marzo 2025"
    assert order_reply_values(order, "fr")["status"] == "shipped"  # unknown language: English


def test_missing_carrier_and_date() -> None:
    cancelled = load_orders()["E7890"]
    values = order_reply_values(cancelled, "it")
    assert values["carrier"] == "—"
    assert values["eta"] == "non disponibile"
    assert format_date(date(2025, 12, 1), "en") == "1 December 2025"


def _tracker(
    text: str, entities: list[dict[str, Any]] | None = None, slots: dict[str, Any] | None = None
) -> Tracker:
    return Tracker(
        sender_id="pseudo-test",
        slots={"language": "en", "order_number": None, **(slots or {})},
        latest_message={
            "text": text,
            "intent": {"name": "order_status"},
            "entities": entities or [],
        },
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


async def _run(tracker: Tracker) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    events = await ActionOrderStatus().run(dispatcher, tracker, domain={})
    return dispatcher.messages, events


async def test_action_found_in_italian() -> None:
    tracker = _tracker(
        "dov'è l'ordine a1234",
        entities=[{"entity": "order_number", "value": "a1234"}],
        slots={"language": "it"},
    )
    messages, events = await _run(tracker)
    assert len(messages) == 1
    assert messages[0]["response"] == "utter_order_status_found"
    assert messages[0]["status"] == "spedito"
    assert messages[0]["order_number"] == "A1234"
    assert events == [
        {"event": "slot", "timestamp": None, "name": "order_number", "value": "A1234"}
    ]


async def test_action_not_found() -> None:
    messages, events = await _run(_tracker("order Z99999"))
    assert messages[0]["response"] == "utter_order_not_found"
    assert messages[0]["order_number"] == "Z99999"
    assert events == [{"event": "slot", "timestamp": None, "name": "order_number", "value": None}]


async def test_action_asks_for_the_number() -> None:
    messages, events = await _run(_tracker("where is my order?"))
    assert [m["response"] for m in messages] == ["utter_ask_order_number"]
    assert events == []


async def test_action_uses_the_slot_when_the_turn_has_no_number() -> None:
    messages, _ = await _run(_tracker("and now?", slots={"order_number": "B5678"}))
    assert messages[0]["response"] == "utter_order_status_found"
    assert messages[0]["status"] == "delivered"


def test_fixture_file_is_valid_json() -> None:
    assert json.loads(FIXTURE.read_text(encoding="utf-8"))["orders"]
