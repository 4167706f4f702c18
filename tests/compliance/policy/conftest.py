"""Rasa-style fixtures: a small test domain, a ConsentPolicy built like the graph builds it, and
`make_tracker`, which turns a compact list of turns into a DialogueStateTracker."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, ActiveLoop, Event, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

HERE = Path(__file__).parent
REPO = HERE.parents[2]


@pytest.fixture(scope="session")
def domain() -> Domain:
    return Domain.load(str(HERE / "domain.yml"))


@pytest.fixture
def make_policy(tmp_path: Path):
    from compliance.policy.consent_policy import ConsentPolicy

    def build(**config: Any) -> ConsentPolicy:
        cfg = {
            **ConsentPolicy.get_default_config(),
            "compliance_file": str(REPO / "bot/compliance.yml"),
            **config,
        }
        return ConsentPolicy.create(
            cfg,
            LocalModelStorage(tmp_path),
            Resource("consent_policy"),
            ExecutionContext(GraphSchema({}), "test"),
        )

    return build


@pytest.fixture
def policy(make_policy):
    return make_policy()


CONFIRMED = {
    "consent_state_service": "confirmed",
    "opted_out": False,
    "notice_version_accepted": "2025-01",
}


def tracker_for(
    domain: Domain, turns: list[Any], slots: dict[str, Any] | None = None, sender: str = "wa_test"
) -> DialogueStateTracker:
    """Turns: ("user", intent, text) | ("bot", action) | ("loop", name) | Event."""
    events: list[Event] = [ActionExecuted("action_session_start"), ActionExecuted("action_listen")]
    for name, value in (slots or {}).items():
        events.append(SlotSet(name, value))
    for turn in turns:
        if isinstance(turn, Event):
            events.append(turn)
        elif turn[0] == "user":
            _, intent, text = turn
            events.append(UserUttered(text, {"name": intent, "confidence": 1.0}))
        elif turn[0] == "bot":
            events.append(ActionExecuted(turn[1]))
        elif turn[0] == "loop":
            events.append(ActiveLoop(turn[1]))
    return DialogueStateTracker.from_events(sender, events, domain.slots)


@pytest.fixture
def make_tracker(domain: Domain):
    def build(turns: list[Any], slots: dict[str, Any] | None = None) -> DialogueStateTracker:
        return tracker_for(domain, turns, slots)

    return build


@pytest.fixture
def confirmed() -> dict[str, Any]:
    return dict(CONFIRMED)
