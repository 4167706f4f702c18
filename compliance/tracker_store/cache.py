"""A bounded in-process cache of rebuilt trackers, so a turn does not replay the whole session.

Rebuilding a DialogueStateTracker replays every event (about 7 ms for 200 events), which would
make a turn's cost grow with the conversation. The store keeps the tracker it last saved or
rebuilt per sender, tagged with the conversation's version in the database (generation, event
count, session start); a retrieve whose version still matches hands out a cheap clone, and one
whose version moved on only applies the missing events. The cache holds decrypted content in
process memory only, as Rasa itself does during a turn; it is bounded (LRU) and a deletion evicts.
Pure: no I/O.
"""

from __future__ import annotations

import copy
from collections import OrderedDict, deque
from dataclasses import dataclass
from functools import lru_cache
from typing import TypeVar

from rasa.shared.core.trackers import DialogueStateTracker


@dataclass(frozen=True)
class Version:
    """Where a conversation stands in the database."""

    generation: str
    event_count: int
    session_start_seq: int


@dataclass(frozen=True)
class Entry:
    version: Version
    tracker: DialogueStateTracker


def clone_tracker(tracker: DialogueStateTracker) -> DialogueStateTracker:
    """An independent copy without replaying events.

    Events are immutable once applied, so the copy shares them; what a turn mutates (the event
    list, slots, the active loop, the latest action) is copied. Equivalent to tracker.copy(),
    which replays every event, at a fraction of the cost.
    """
    twin = shallow_copy(tracker)
    twin.events = deque(tracker.events, tracker.events.maxlen)
    slots = type(tracker.slots)()
    slots.update({name: shallow_copy(slot) for name, slot in tracker.slots.items()})
    twin.slots = slots
    twin.active_loop = copy.copy(tracker.active_loop)
    twin.latest_action = copy.copy(tracker.latest_action)
    return twin


_T = TypeVar("_T")
# What would make copy.copy do more than copy the instance's __dict__.
_COPY_HOOKS = ("__copy__", "__reduce__", "__reduce_ex__", "__getstate__", "__setstate__")


def shallow_copy(obj: _T) -> _T:
    """copy.copy(obj), done directly for an object whose state is its __dict__ (Rasa's tracker
    and slots): copy's reduce protocol costs about four times as much, and a clone copies every
    slot of the domain, twice a turn (docs/benchmarks.md, issue 4). Anything else goes to
    copy.copy."""
    cls = type(obj)
    if not _dict_only(cls):
        return copy.copy(obj)
    twin = cls.__new__(cls)
    twin.__dict__.update(obj.__dict__)
    return twin


@lru_cache(maxsize=256)
def _dict_only(cls: type) -> bool:
    """Whether copy.copy of a `cls` instance is a new instance with the same __dict__: no copy
    hook of its own, no named __slots__, an instance dict."""
    ancestors = cls.__mro__[:-1]  # object's own hooks are the default protocol
    for klass in ancestors:
        names = vars(klass)
        if any(hook in names for hook in _COPY_HOOKS) or names.get("__slots__", ()):
            return False
    has_dict = any("__dict__" in vars(klass) for klass in ancestors)
    return has_dict and cls.__new__ is object.__new__


class TrackerCache:
    """LRU map sender_id -> (version, tracker); capacity 0 disables caching."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._entries: OrderedDict[str, Entry] = OrderedDict()

    def get(self, sender_id: str) -> Entry | None:
        entry = self._entries.get(sender_id)
        if entry is not None:
            self._entries.move_to_end(sender_id)
        return entry

    def put(self, sender_id: str, version: Version, tracker: DialogueStateTracker) -> None:
        if self._capacity <= 0:
            return
        self._entries[sender_id] = Entry(version, clone_tracker(tracker))
        self._entries.move_to_end(sender_id)
        while len(self._entries) > self._capacity:
            self._entries.popitem(last=False)

    def evict(self, sender_id: str) -> None:
        self._entries.pop(sender_id, None)

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
