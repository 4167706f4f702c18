"""A tiny stand-in for Rasa around the consent actions: a hand-built rasa_sdk Tracker per turn,
a CollectingDispatcher, and the real compliance context over a temporary SQLite database and a
temporary key file (built through build_context, as the action server builds it)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.compliance_context import ComplianceContext, build_context, set_context

REPO = Path(__file__).resolve().parents[2]
SUBJECT = "wa_" + "a" * 32
_ids = itertools.count(1)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    from compliance.keys import write_new_keyfile

    key_file = tmp_path / "keys.json"
    write_new_keyfile(key_file)
    return {
        "SIGILLO_KEY_FILE": str(key_file),
        "SIGILLO_DATABASE_URL": f"sqlite:///{tmp_path / 'sigillo.db'}",
        "SIGILLO_DATA_DIR": str(tmp_path / "data"),
        "SIGILLO_COMPLIANCE_FILE": str(REPO / "bot" / "compliance.yml"),
    }


@pytest.fixture
def ctx(env: dict[str, str]) -> Iterator[ComplianceContext]:
    context = build_context(env)
    set_context(context)
    yield context
    set_context(None)
    context.audit.close()  # type: ignore[attr-defined]


@dataclass
class Chat:
    """One conversation: user turns in, action runs applied like Rasa applies them."""

    sender_id: str = SUBJECT
    language: str = "en"
    events: list[dict[str, Any]] = field(default_factory=list)
    slots: dict[str, Any] = field(default_factory=dict)
    sent: list[list[dict[str, Any]]] = field(default_factory=list)  # responses per action run

    def __post_init__(self) -> None:
        self.slots.setdefault("language", self.language)

    def say(self, intent: str, text: str | None = None, country_code: str | None = "39") -> None:
        self.events.append({"event": "action", "name": "action_listen"})
        self.events.append(
            {
                "event": "user",
                "text": text if text is not None else f"/{intent}",
                "timestamp": 1_700_000_000.0 + len(self.events),
                "parse_data": {"intent": {"name": intent, "confidence": 1.0}},
                "message_id": f"h1:{next(_ids):064x}",
                "metadata": {"message_type": "text", "country_code": country_code},
            }
        )

    def tracker(self) -> Tracker:
        latest = next(e for e in reversed(self.events) if e["event"] == "user")
        latest_message = {
            "intent": latest["parse_data"]["intent"],
            "text": latest["text"],
            "message_id": latest["message_id"],
            "metadata": latest["metadata"],
        }
        return Tracker(
            self.sender_id, dict(self.slots), latest_message, list(self.events),
            False, None, {}, "action_listen",
        )

    def run(self, action: Action, domain: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Run `action`; apply its events; return its responses (also kept in `sent`)."""
        dispatcher = CollectingDispatcher()
        events = asyncio.run(action.run(dispatcher, self.tracker(), domain or {}))
        self.events.append({"event": "action", "name": action.name()})
        for event in events:
            if event["event"] == "slot":
                self.slots[event["name"]] = event["value"]
            elif event["event"] == "reset_slots":
                self.slots = {}
            self.events.append(event)
        for message in dispatcher.messages:
            self.events.append({"event": "bot", "text": message.get("response"),
                                "timestamp": 1_700_000_000.0 + len(self.events)})
        self.sent.append(dispatcher.messages)
        return dispatcher.messages

    def step(self, intent: str, action: Action, text: str | None = None) -> list[str | None]:
        """A user turn answered by `action`: the names of the responses it sent."""
        self.say(intent, text)
        return [m.get("response") for m in self.run(action)]


@pytest.fixture
def chat() -> Chat:
    return Chat()
