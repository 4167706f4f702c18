"""event_codec: what stays clear per Rasa event type, exact round trip, default-deny."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rasa.shared.core import events as rasa_events
from rasa.shared.core.events import (
    ActionExecuted,
    ActionExecutionRejected,
    ActionReverted,
    ActiveLoop,
    AgentUttered,
    AllSlotsReset,
    BotUttered,
    ConversationPaused,
    ConversationResumed,
    DefinePrevUserUtteredFeaturization,
    EntitiesAdded,
    FollowupAction,
    LegacyForm,
    LegacyFormValidation,
    LoopInterrupted,
    ReminderCancelled,
    ReminderScheduled,
    Restarted,
    SessionStarted,
    SlotSet,
    StoryExported,
    UserUtteranceReverted,
    UserUttered,
)

from compliance.tracker_store.event_codec import (
    CLEAR_FIELDS,
    COMMON_CLEAR,
    PERSONAL_FIELDS,
    join_event,
    lookup_of,
    split_event,
)

PHONE = "+393331234567"
SECRET = "my secret order text"
META = {"from": PHONE}
PARSE = {
    "text": SECRET,
    "intent": {"name": "order_status", "confidence": 0.9},
    "entities": [{"entity": "phone", "value": PHONE, "start": 0, "end": 13}],
}

# label, event, expected clear lookup (intent_name, action_name)
CASES: list[tuple[str, Any, tuple[str | None, str | None]]] = [
    (
        "user",
        UserUttered(
            SECRET,
            PARSE["intent"],
            PARSE["entities"],
            PARSE,
            input_channel="whatsapp",
            message_id="wamid.X",
            metadata=META,
        ),
        ("order_status", None),
    ),  # noqa: E501
    ("user_no_intent", UserUttered(SECRET), (None, None)),
    ("user_featurization", DefinePrevUserUtteredFeaturization(True, metadata=META), (None, None)),
    ("entities", EntitiesAdded([{"entity": "phone", "value": PHONE}], metadata=META), (None, None)),
    (
        "bot",
        BotUttered(SECRET, {"buttons": [{"title": PHONE}]}, {"utter_action": "utter_x"}),
        (None, None),
    ),  # noqa: E501
    ("slot", SlotSet("phone", PHONE, metadata=META), (None, None)),
    ("slot_list", SlotSet("phones", [PHONE, SECRET]), (None, None)),
    ("restart", Restarted(metadata=META), (None, None)),
    ("rewind", UserUtteranceReverted(), (None, None)),
    ("reset_slots", AllSlotsReset(), (None, None)),
    (
        "reminder",
        ReminderScheduled(
            "remind",
            __import__("datetime").datetime(2025, 1, 1),
            name=SECRET,
            entities=[{"entity": "phone", "value": PHONE}],
        ),
        (None, None),
    ),  # noqa: E501
    (
        "cancel_reminder",
        ReminderCancelled(
            name=SECRET, intent="remind", entities=[{"entity": "phone", "value": PHONE}]
        ),
        (None, None),
    ),  # noqa: E501
    ("undo", ActionReverted(), (None, None)),
    ("export", StoryExported(path=f"/tmp/{PHONE}.yml"), (None, None)),
    ("followup", FollowupAction("utter_greet"), (None, "utter_greet")),
    ("pause", ConversationPaused(), (None, None)),
    ("resume", ConversationResumed(), (None, None)),
    (
        "action",
        ActionExecuted("utter_order", policy="RulePolicy", confidence=1.0, metadata=META),
        (None, "utter_order"),
    ),  # noqa: E501
    ("action_e2e_text", ActionExecuted(action_text=SECRET), (None, None)),
    ("agent", AgentUttered(SECRET, {"to": PHONE}), (None, None)),
    ("active_loop", ActiveLoop("order_form"), (None, "order_form")),
    ("form", LegacyForm("order_form"), (None, "order_form")),
    ("loop_interrupted", LoopInterrupted(True), (None, None)),
    ("form_validation", LegacyFormValidation(False), (None, None)),
    (
        "action_execution_rejected",
        ActionExecutionRejected("act", policy="P", confidence=0.2),
        (None, "act"),
    ),  # noqa: E501
    ("session_started", SessionStarted(metadata=META), (None, None)),
]


@pytest.mark.parametrize("label,event,lookup", CASES, ids=[c[0] for c in CASES])
def test_split_join_round_trip_and_nothing_personal_in_clear(label, event, lookup) -> None:
    original = json.loads(json.dumps(event.as_dict()))
    clear, personal = split_event(original)
    assert join_event(clear, personal) == original
    assert not set(clear) & set(personal)
    dumped = json.dumps(clear)
    assert PHONE not in dumped and SECRET not in dumped and "wamid" not in dumped
    assert set(clear) <= COMMON_CLEAR | CLEAR_FIELDS[original["event"]]
    found = lookup_of(original)
    assert (found.intent_name, found.action_name) == lookup
    assert found.type_name == original["event"]
    assert found.timestamp == original["timestamp"]
    # Rasa rebuilds from the joined dict an event that serialises as the original did
    rebuilt = rasa_events.Event.from_parameters(join_event(clear, personal))
    assert json.loads(json.dumps(rebuilt.as_dict())) == original


def test_table_covers_every_rasa_event_type_and_field() -> None:
    seen = {case[1].type_name for case in CASES}
    registered = {cls.type_name for cls in _all_event_classes()}
    assert (
        registered - {"event", "wrong_utterance", "wrong_action", "warning_utterance_in_stories"}
        <= seen
    )  # noqa: E501
    assert set(CLEAR_FIELDS) == set(PERSONAL_FIELDS)
    for _label, event, _lookup in CASES:
        d = event.as_dict()
        declared = COMMON_CLEAR | CLEAR_FIELDS[d["event"]] | PERSONAL_FIELDS[d["event"]]
        assert set(d) <= declared, f"{d['event']}: undeclared fields {set(d) - declared}"
        assert not CLEAR_FIELDS[d["event"]] & PERSONAL_FIELDS[d["event"]]


def _all_event_classes() -> list[type]:
    todo, found = [rasa_events.Event], []
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            todo.append(sub)
            if "type_name" in vars(sub) and sub.__module__ == rasa_events.__name__:
                found.append(sub)
    return found


@pytest.mark.parametrize(
    "label,event",
    [
        (
            "unknown_type_seals_all_but_order",
            {"event": "new_in_rasa_4", "timestamp": 1.0, "name": PHONE},
        ),  # noqa: E501
        (
            "nested_value_under_clear_name",
            {"event": "action", "timestamp": 1.0, "name": {"t": PHONE}},
        ),  # noqa: E501
        ("list_under_clear_name", {"event": "slot", "timestamp": 1.0, "name": [SECRET]}),
        ("missing_event_key", {"timestamp": 1.0, "text": SECRET}),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_default_deny(label: str, event: dict) -> None:
    clear, personal = split_event(event)
    assert PHONE not in json.dumps(clear) and SECRET not in json.dumps(clear)
    assert join_event(clear, personal) == event


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=10,
)


@given(
    type_name=st.sampled_from(sorted(CLEAR_FIELDS) + ["unknown", ""]),
    fields=st.dictionaries(
        st.sampled_from(["name", "text", "value", "metadata", "intent", "policy", "x"]) | st.text(),
        json_values,
        max_size=8,
    ),
)
def test_round_trip_property(type_name: str, fields: dict) -> None:
    event = {**fields, "event": type_name}
    clear, personal = split_event(event)
    assert join_event(clear, personal) == event
    assert set(clear) <= COMMON_CLEAR | CLEAR_FIELDS.get(type_name, frozenset())
    assert all(v is None or isinstance(v, (str, int, float, bool)) for v in clear.values())
    lookup_of(event)  # never raises on arbitrary input
