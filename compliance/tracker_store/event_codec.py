"""Split a Rasa event into the fields Rasa needs in clear and the personal content we seal.

The rule is default-deny: a field is clear only if the table below names it clear for that event
type; every other field, including fields of event types Rasa adds later, is personal and sealed.
`PERSONAL_FIELDS` documents what we know to be personal, and a test checks that the two tables
cover every field Rasa 3.6 emits, so a new Rasa field is noticed rather than silently sealed.

Decisions: intent, action, slot, loop and form NAMES come from the designer's domain, not from the
user, so they stay clear (Rasa and the operator need them for ordering and debugging). Texts,
parse data (entity values, intent ranking, the text again), slot values, action texts (end-to-end
bot texts), metadata and message ids are personal. Entity names are not kept in clear at all:
nothing in Rasa looks them up, so minimisation wins. Pure: dicts in, dicts out, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# Fields every event carries that are needed for ordering; never personal.
COMMON_CLEAR: frozenset[str] = frozenset({"event", "timestamp"})

# type_name -> fields that stay in clear besides COMMON_CLEAR.
CLEAR_FIELDS: Mapping[str, frozenset[str]] = {
    "user": frozenset({"input_channel"}),
    "user_featurization": frozenset({"use_text_for_featurization"}),
    "entities": frozenset(),
    "bot": frozenset(),
    "slot": frozenset({"name"}),
    "restart": frozenset(),
    "rewind": frozenset(),
    "reset_slots": frozenset(),
    "reminder": frozenset({"intent", "date_time", "kill_on_user_msg"}),
    "cancel_reminder": frozenset({"intent"}),
    "undo": frozenset(),
    "export": frozenset(),
    "followup": frozenset({"name"}),
    "pause": frozenset(),
    "resume": frozenset(),
    "action": frozenset({"name", "policy", "confidence", "hide_rule_turn"}),
    "agent": frozenset(),
    "active_loop": frozenset({"name"}),
    "form": frozenset({"name"}),
    "loop_interrupted": frozenset({"is_interrupted"}),
    "form_validation": frozenset({"validate"}),
    "action_execution_rejected": frozenset({"name", "policy", "confidence"}),
    "session_started": frozenset(),
}

# type_name -> fields known to be personal (documentation and coverage test; sealing does not
# depend on it: anything not clear is sealed). "metadata" is personal on every type.
PERSONAL_FIELDS: Mapping[str, frozenset[str]] = {
    "user": frozenset({"text", "parse_data", "message_id", "metadata"}),
    "user_featurization": frozenset({"metadata"}),
    "entities": frozenset({"entities", "metadata"}),
    "bot": frozenset({"text", "data", "metadata"}),
    "slot": frozenset({"value", "metadata"}),
    "restart": frozenset({"metadata"}),
    "rewind": frozenset({"metadata"}),
    "reset_slots": frozenset({"metadata"}),
    "reminder": frozenset({"name", "entities", "metadata"}),
    "cancel_reminder": frozenset({"name", "entities", "metadata"}),
    "undo": frozenset({"metadata"}),
    "export": frozenset({"path", "metadata"}),
    "followup": frozenset({"metadata"}),
    "pause": frozenset({"metadata"}),
    "resume": frozenset({"metadata"}),
    "action": frozenset({"action_text", "metadata"}),
    "agent": frozenset({"text", "data", "metadata"}),
    "active_loop": frozenset({"metadata"}),
    "form": frozenset({"metadata"}),
    "loop_interrupted": frozenset({"metadata"}),
    "form_validation": frozenset({"metadata"}),
    "action_execution_rejected": frozenset({"metadata"}),
    "session_started": frozenset({"metadata"}),
}

_NAME_LEN = 255


@dataclass(frozen=True)
class Lookup:
    """The indexed columns of one stored event: what Rasa and retention query by."""

    type_name: str
    timestamp: float | None
    intent_name: str | None
    action_name: str | None


def clear_fields_of(type_name: str) -> frozenset[str]:
    """The clear fields of `type_name`; an unknown type keeps only COMMON_CLEAR in clear."""
    return COMMON_CLEAR | CLEAR_FIELDS.get(type_name, frozenset())


def split_event(event: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(clear, personal): disjoint, and together exactly the keys of `event` (see join_event)."""
    allowed = clear_fields_of(str(event.get("event", "")))
    clear: dict[str, Any] = {}
    personal: dict[str, Any] = {}
    for key, value in event.items():
        if key in allowed and _is_scalar(value):
            clear[key] = value
        else:
            personal[key] = value
    return clear, personal


def join_event(clear: Mapping[str, Any], personal: Mapping[str, Any]) -> dict[str, Any]:
    """The event dict that split_event took apart; personal wins on a (never expected) clash."""
    return {**clear, **personal}


def lookup_of(event: Mapping[str, Any]) -> Lookup:
    """Indexed columns: type, timestamp, intent name (user events) and action or loop name."""
    type_name = str(event.get("event", ""))
    intent_name: str | None = None
    if type_name == "user":
        parse_data = event.get("parse_data")
        intent = parse_data.get("intent") if isinstance(parse_data, Mapping) else None
        name = intent.get("name") if isinstance(intent, Mapping) else None
        intent_name = name if isinstance(name, str) else None
    action_name: str | None = None
    if "name" in clear_fields_of(type_name) and type_name != "slot":
        name = event.get("name")
        action_name = name if isinstance(name, str) else None
    timestamp = event.get("timestamp")
    ts = (
        float(timestamp)
        if isinstance(timestamp, (int, float)) and not isinstance(timestamp, bool)
        else None
    )
    return Lookup(type_name[:_NAME_LEN], ts, _cut(intent_name), _cut(action_name))


def _cut(value: str | None) -> str | None:
    return value[:_NAME_LEN] if value is not None else None


def _is_scalar(value: Any) -> bool:
    # A clear field must be a plain value: a nested dict or list under a clear name (a future
    # Rasa change) could carry user content, so it is sealed instead.
    return value is None or isinstance(value, (str, int, float, bool))
