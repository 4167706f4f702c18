"""Writes that commit with a user message's events, in the tracker store's transaction.

Why: the WhatsApp channel marks a message's inbox row done when its turn is over. In a
transaction of its own after the tracker's, a crash between the two left the turn saved and the
message pending, and the restart ran the turn again: the tracker got the message twice, where
design.md invariant 5 says once. So the channel registers the completion under the message's id
before it hands the message to Rasa, and the tracker store runs it in the transaction that saves
that message's UserUttered event: both commit or neither does (and a turn costs one commit less).

A write that no save ran (the turn failed before saving, or the store is another kind or on
another database) is still registered when the turn ends: `withdraw` says so, and the channel
runs it itself. Only a store on the same database runs a write: writes are keyed by it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable

from sqlalchemy.engine import Connection

Write = Callable[[Connection], None]

_lock = threading.Lock()
_registered: dict[tuple[str, str], Write] = {}


def register(database: str, message_id: str, write: Write) -> None:
    """Run `write` in the transaction that saves the event of `message_id` on `database`."""
    with _lock:
        _registered[(database, message_id)] = write


def pending(database: str, message_ids: Iterable[str | None]) -> dict[str, Write]:
    """The writes registered for these messages on `database` (still registered: a save may
    run them more than once, in transactions that roll back, until `settle`)."""
    with _lock:
        return {
            message_id: write
            for message_id in message_ids
            if message_id is not None
            and (write := _registered.get((database, message_id))) is not None
        }


def settle(database: str, message_ids: Iterable[str]) -> None:
    """These messages' writes committed: forget them."""
    with _lock:
        for message_id in message_ids:
            _registered.pop((database, message_id), None)


def withdraw(database: str, message_id: str) -> bool:
    """Forget the message's write; True if no save had committed it (the caller runs it)."""
    with _lock:
        return _registered.pop((database, message_id), None) is not None
