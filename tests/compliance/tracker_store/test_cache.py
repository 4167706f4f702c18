"""The tracker cache's clone: an independent tracker, equal to Rasa's own copy, and the shallow
copy it is made of, which is copy.copy done directly only where that is the same thing."""

from __future__ import annotations

import copy

import pytest
from rasa.shared.core.events import SlotSet
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity

from compliance.tracker_store.cache import clone_tracker, shallow_copy


def test_a_clone_has_rasas_state_and_its_own_slots_and_events(domain, conversation) -> None:
    tracker = DialogueStateTracker.from_events("wa_ps_0123456789abcdef", conversation(2),
                                               domain.slots)
    clone = clone_tracker(tracker)
    assert clone.current_state(EventVerbosity.ALL) == tracker.copy().current_state(
        EventVerbosity.ALL
    )
    for name, slot in tracker.slots.items():
        assert type(clone.slots[name]) is type(slot)
        assert clone.slots[name] is not slot
        assert vars(clone.slots[name]) == vars(slot)
    before = tracker.current_state(EventVerbosity.ALL)
    clone.update(SlotSet("order_id", "changed in the clone"))
    assert tracker.current_state(EventVerbosity.ALL) == before
    assert clone.get_slot("order_id") == "changed in the clone"


class _Plain:
    def __init__(self) -> None:
        self.items = [1]
        self.name = "plain"


class _Hooked(_Plain):
    def __copy__(self) -> _Hooked:
        twin = _Hooked()
        twin.name = "copied by its hook"
        return twin


class _Slotted:
    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 7


class _Stateful(_Plain):
    def __getstate__(self) -> dict:
        return {"name": "from getstate", "items": []}


def _state(value: object) -> object:
    if isinstance(value, dict):
        return value
    names = ("items", "name", "value")
    return {name: getattr(value, name) for name in names if hasattr(value, name)}


@pytest.mark.parametrize("make", [_Plain, _Hooked, _Slotted, _Stateful, lambda: {"a": [1]}])
def test_shallow_copy_is_copy_copy(make) -> None:
    original = make()
    twin, expected = shallow_copy(original), copy.copy(original)
    assert type(twin) is type(expected) and twin is not original
    assert _state(twin) == _state(expected)  # a hook's own result where the class has one


def test_shallow_copy_of_a_plain_object_shares_its_attributes() -> None:
    original = _Plain()
    assert shallow_copy(original).items is original.items
