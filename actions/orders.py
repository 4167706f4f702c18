"""Order status: a lookup in the demo fixture, answered in the user's language.

The fixture (orders_fixture.json) stands in for the shop's order API. Everything but the Action
is a pure function, so tests need neither Rasa nor a tracker. Nothing here logs the message text
or the order number.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

FIXTURE = Path(__file__).with_name("orders_fixture.json")
ORDER_ENTITY = "order_number"
ORDER_SLOT = "order_number"

# Same shapes as the `order_number` regex in bot/data/nlu/regex.yml: A1234 (or A-1234), 5-8 digits.
_ORDER_NUMBER = re.compile(r"(?<![\w-])(?:[A-Za-z]-?\d{4,6}|\d{5,8})(?![\w-])")

_STATUS = {
    "processing": {"en": "being prepared", "it": "in preparazione"},
    "shipped": {"en": "shipped", "it": "spedito"},
    "in_transit": {"en": "in transit", "it": "in viaggio"},
    "out_for_delivery": {"en": "out for delivery", "it": "in consegna oggi"},
    "delivered": {"en": "delivered", "it": "consegnato"},
    "cancelled": {"en": "cancelled", "it": "annullato"},
    "returned": {"en": "returned and refunded", "it": "reso e rimborsato"},
}
_MONTHS = {
    "en": "January February March April May June July August September October November December",
    "it": "gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre novembre "
    "dicembre",
}
_NOT_AVAILABLE = {"en": "not available", "it": "non disponibile"}


@dataclass(frozen=True)
class Order:
    """One order as the bot may tell it: no customer data, only shipping facts."""

    number: str
    status: str
    carrier: str | None
    eta: date | None


def normalize_order_number(raw: str) -> str:
    """Canonical form of a typed order number: "a-1234 " -> "A1234", "#100234" -> "100234"."""
    return re.sub(r"[\s#\-]", "", raw).upper()


def find_order_number(text: str | None) -> str | None:
    """The first order number in `text` (a safety net when NLU missed the entity)."""
    match = _ORDER_NUMBER.search(text or "")
    return normalize_order_number(match.group(0)) if match else None


def parse_orders(document: dict[str, Any]) -> dict[str, Order]:
    """Orders by normalized number from the fixture's JSON document."""
    orders: dict[str, Order] = {}
    for row in document["orders"]:
        if row["status"] not in _STATUS:
            raise ValueError(f"orders_fixture.json: unknown status {row['status']!r}")
        number = normalize_order_number(row["number"])
        eta = date.fromisoformat(row["eta"]) if row.get("eta") else None
        orders[number] = Order(number, row["status"], row.get("carrier"), eta)
    return orders


@lru_cache(maxsize=1)
def load_orders(path: Path = FIXTURE) -> dict[str, Order]:
    """The fixture, read once per process."""
    return parse_orders(json.loads(path.read_text(encoding="utf-8")))


def lookup_order(number: str, orders: dict[str, Order]) -> Order | None:
    """The order with this number, however the user typed it, or None."""
    return orders.get(normalize_order_number(number))


def status_label(status: str, language: str) -> str:
    """The status in words of the reply language (English when the language is unknown)."""
    labels = _STATUS[status]
    return labels.get(language, labels["en"])


def format_date(value: date | None, language: str) -> str:
    """'14 March 2025' / '14 marzo 2025'; a placeholder in words when there is no date."""
    language = language if language in _MONTHS else "en"
    if value is None:
        return _NOT_AVAILABLE[language]
    month = _MONTHS[language].split()[value.month - 1]
    return f"{value.day} {month} {value.year}"


def order_reply_values(order: Order, language: str) -> dict[str, str]:
    """Variables of utter_order_status_found for `order` in `language`."""
    language = language if language in _MONTHS else "en"
    return {
        "order_number": order.number,
        "status": status_label(order.status, language),
        "carrier": order.carrier or "—",
        "eta": format_date(order.eta, language),
    }


def requested_order_number(tracker: Tracker) -> str | None:
    """The order number of this turn (entity, else found in the text), else the slot's."""
    entity = next(tracker.get_latest_entity_values(ORDER_ENTITY), None)
    if entity:
        return normalize_order_number(str(entity))
    in_text = find_order_number((tracker.latest_message or {}).get("text"))
    if in_text:
        return in_text
    slot = tracker.get_slot(ORDER_SLOT)
    return normalize_order_number(str(slot)) if slot else None


class ActionOrderStatus(Action):
    """Tells the status of the order the user named, or asks for its number."""

    def name(self) -> str:
        return "action_order_status"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        number = requested_order_number(tracker)
        if not number:
            dispatcher.utter_message(response="utter_ask_order_number")
            return []
        language = tracker.get_slot("language") or "en"
        order = lookup_order(number, load_orders())
        if order is None:
            dispatcher.utter_message(response="utter_order_not_found", order_number=number)
            # Forget a number that matches no order, so "where is my order?" asks again.
            return [SlotSet(ORDER_SLOT, None)]
        dispatcher.utter_message(
            response="utter_order_status_found", **order_reply_values(order, language)
        )
        return [SlotSet(ORDER_SLOT, order.number)]
