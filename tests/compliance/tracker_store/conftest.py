"""Fixtures for the encrypted tracker store: a migrated database per test (SQLite file, and
PostgreSQL when SIGILLO_TEST_POSTGRES_URL is set), a domain, subject keys and a store."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import Any

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
)

from compliance.identity.subject_keys import SubjectKeyStore
from compliance.keys.keyfile import generate_keyring
from compliance.tracker_store import EncryptedTrackerStore

T0 = datetime(2025, 1, 1, 12, tzinfo=timezone.utc)

DOMAIN_YAML = """
version: "3.1"
intents: [greet, order_status, stop]
entities: [phone, order_id]
slots:
  order_id:
    type: text
    mappings: [{type: from_entity, entity: order_id}]
  phone:
    type: text
    mappings: [{type: from_entity, entity: phone}]
responses:
  utter_greet: [{text: "Hello!"}]
  utter_order: [{text: "Your order is on its way."}]
"""


@pytest.fixture
def conversation() -> Callable[..., list[Event]]:
    """conversation(turns, sessions=1): events of `sessions` sessions of `turns` turns each."""

    def make(turns: int, sessions: int = 1, **kwargs: Any) -> list[Event]:
        events: list[Event] = []
        for s in range(sessions):
            events += session_start()
            for i in range(turns):
                events += turn(s * 1000 + i, **kwargs)
        return events

    return make


@pytest.fixture(scope="session")
def domain() -> Domain:
    return Domain.from_yaml(DOMAIN_YAML)


@pytest.fixture
def subject_keys(engine) -> SubjectKeyStore:
    """The real subject key store on the same database, with a fresh in-memory keyring."""
    return SubjectKeyStore(engine, generate_keyring())


@pytest.fixture
def store_factory(engine, domain, subject_keys) -> Callable[..., EncryptedTrackerStore]:
    """Another store instance on the same database: another Rasa server, or a cold restart."""

    def make(**options: Any) -> EncryptedTrackerStore:
        return EncryptedTrackerStore(domain, engine=engine, subject_keys=subject_keys, **options)

    return make


@pytest.fixture
def store(store_factory) -> EncryptedTrackerStore:
    return store_factory()


PHONE = "+393331234567"
SECRET = "my secret order text"


def turn(i: int, *, phone: str = PHONE, secret: str = SECRET) -> list[Event]:
    """One realistic turn: user message with entities, slot, bot action and reply, listen."""
    text = f"{secret} {i} call me on {phone}"
    parse = {
        "text": text,
        "intent": {"name": "order_status", "confidence": 0.93},
        "entities": [
            {"entity": "phone", "value": phone, "start": 20, "end": 33},
            {"entity": "order_id", "value": f"A-{i}", "start": 0, "end": 3},
        ],
        "intent_ranking": [{"name": "order_status", "confidence": 0.93}],
    }
    return [
        UserUttered(
            text,
            parse["intent"],
            parse["entities"],
            parse,
            input_channel="whatsapp",
            message_id=f"wamid.{i}",
            metadata={"from": phone},
        ),
        SlotSet("phone", phone),
        SlotSet("order_id", f"A-{i}"),
        ActionExecuted("utter_order", policy="RulePolicy", confidence=1.0),
        BotUttered(
            f"Order A-{i} for {phone} ships today",
            {"buttons": None},
            {"utter_action": "utter_order"},
        ),
        ActionExecuted("action_listen"),
    ]


def session_start() -> list[Event]:
    return [
        ActionExecuted("action_session_start"),
        SessionStarted(),
        ActionExecuted("action_listen"),
    ]


@pytest.fixture(autouse=True)
def _close_shared_storage() -> Iterator[None]:
    """A store Rasa builds takes the process's shared engine (compliance.context): close it with
    the test's database."""
    yield
    from compliance.context import close_shared

    close_shared()
