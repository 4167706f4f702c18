"""SQL for the encrypted tracker store: read a conversation's version and events, append events.

Appending is optimistic: a tracker the store handed out carries a Mark (generation, events already
stored, event count at that time), and the append is one compare-and-set UPDATE of the
conversation row plus one multi-row INSERT, with no COUNT and no re-read of the events. If another
writer moved the conversation on, the CAS matches nothing and the slow path reads the row (locked
on PostgreSQL) and appends after what is there; the unique (sender_id, seq) key is the backstop,
and an IntegrityError is retried. A Mark whose conversation was deleted meanwhile (erasure,
retention) drops the save: deletion wins, and nothing erased is written back. append_on makes
the same append inside a caller's transaction: the store's audited saves run it in the audit log's,
so a turn's events and the audit entries of its bot actions commit together.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from compliance.errors import StorageUnavailable
from compliance.storage.direct import Direct
from compliance.storage.guard import storage_errors
from compliance.tracker_store.cache import Version
from compliance.tracker_store.tables import tracker_conversations, tracker_events

_RETRIES = 5
_CONV = tracker_conversations.c
_EVENTS = tracker_events.c

# (generation, seq, event dict) -> row values; sealing is injected so this module holds no key.
RowSealer = Callable[[str, int, dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class Mark:
    """What a handed-out tracker has in common with the database."""

    generation: str
    synced: int  # leading tracker events that are stored
    event_count: int  # the conversation's event count when they were
    session_start_seq: int


@dataclass(frozen=True)
class Appended:
    written: list[Any]  # the Rasa events written, in order
    version: Version | None  # None: dropped, the conversation was deleted meanwhile
    mark: Mark | None


def read_version(conn: Connection, sender_id: str) -> Version | None:
    row = _READ_VERSION.execute(conn, {"v_sender": sender_id}).first()
    return Version(row.generation, row.event_count, row.session_start_seq) if row else None


def read_rows(conn: Connection, sender_id: str, from_seq: int, to_seq: int) -> list[Any]:
    """Rows seq in [from_seq, to_seq), ordered; fewer than expected means a concurrent delete."""
    return list(
        conn.execute(
            sa.select(_EVENTS.seq, _EVENTS.clear_fields, _EVENTS.sealed)
            .where(_EVENTS.sender_id == sender_id, _EVENTS.seq >= from_seq, _EVENTS.seq < to_seq)
            .order_by(_EVENTS.seq)
        )
    )


def list_senders(engine: Engine) -> list[str]:
    with storage_errors(), engine.connect() as conn:
        return list(conn.execute(sa.select(_CONV.sender_id)).scalars())


def append(
    engine: Engine,
    sender_id: str,
    events: Sequence[Any],
    mark: Mark | None,
    seal: RowSealer,
    now: datetime,
    presealed: list[dict[str, Any]] | None = None,
) -> Appended:
    """Store the events of `events` not yet stored (per `mark`, else Rasa's session rule)."""

    def attempt() -> Appended:
        with storage_errors(), engine.begin() as conn:
            return append_on(conn, sender_id, events, mark, seal, now, presealed)

    return retry_conflicts(attempt)


def append_on(
    conn: Connection,
    sender_id: str,
    events: Sequence[Any],
    mark: Mark | None,
    seal: RowSealer,
    now: datetime,
    presealed: list[dict[str, Any]] | None = None,
) -> Appended:
    """append() in the caller's transaction, one attempt: an IntegrityError means another writer
    created the conversation or took these seqs first; roll back and retry (retry_conflicts).
    `presealed`: preseal()'s rows, used if the append goes as `mark` predicted."""
    if mark is not None:
        done = _append_fast(conn, sender_id, events, mark, seal, now, presealed)
        if done is not None:
            return done
    return _append_slow(conn, sender_id, events, mark, seal, now)


def retry_conflicts(attempt: Callable[[], Appended]) -> Appended:
    """Run `attempt` (one transaction around append_on) until no write conflict stops it."""
    for _ in range(_RETRIES):
        try:
            return attempt()
        except IntegrityError:
            continue  # another writer created the conversation or took these seqs first
    raise StorageUnavailable("the tracker store could not append after repeated write conflicts")


def preseal(new: Sequence[Any], mark: Mark, seal: RowSealer) -> list[dict[str, Any]]:
    """The rows of the append that `mark` predicts: `new` (the events after mark.synced) at the
    seqs from mark.event_count. Sealed before the transaction, because an append runs holding
    SQLite's write lock, which the webhook front waits on to acknowledge, and sealing is about
    half of the CPU it spends there. If another writer moved the conversation on, the append
    does not use them and seals anew."""
    return _sealed_rows(seal, mark.generation, mark.event_count, new)


def _sealed_rows(
    seal: RowSealer, generation: str, start: int, new: Sequence[Any]
) -> list[dict[str, Any]]:
    return [seal(generation, start + i, event.as_dict()) for i, event in enumerate(new)]


def _append_fast(
    conn: Connection,
    sender: str,
    events: Sequence[Any],
    mark: Mark,
    seal: RowSealer,
    now: datetime,
    presealed: list[dict[str, Any]] | None,
) -> Appended | None:
    new = unsaved(events, mark.synced)
    if not new:
        version = Version(mark.generation, mark.event_count, mark.session_start_seq)
        return Appended([], version, mark)
    start = mark.event_count
    session_start = _session_start(new, start, mark.session_start_seq)
    updated = _ADVANCE.execute(
        conn,
        {
            "a_sender": sender,
            "a_generation": mark.generation,
            "a_start": start,
            "a_count": start + len(new),
            "a_session_start": session_start,
            "a_now": now,
        },
    ).rowcount
    if updated != 1:
        return None
    return _insert(
        conn, sender, mark.generation, start, new, len(events), session_start, seal, presealed
    )


def _append_slow(
    conn: Connection,
    sender: str,
    events: Sequence[Any],
    mark: Mark | None,
    seal: RowSealer,
    now: datetime,
) -> Appended:
    row = conn.execute(
        sa.select(_CONV.generation, _CONV.event_count, _CONV.session_start_seq)
        .where(_CONV.sender_id == sender)
        .with_for_update()
    ).first()
    if mark is not None and (row is None or row.generation != mark.generation):
        return Appended([], None, None)  # deleted while the tracker was out: deletion wins
    if row is None:
        new, generation = list(events), secrets.token_hex(16)
        session_start = _session_start(new, 0, 0)
        conn.execute(
            tracker_conversations.insert().values(
                sender_id=sender,
                generation=generation,
                event_count=len(new),
                session_start_seq=session_start,
                last_event_at=now,
            )
        )
        return _insert(conn, sender, generation, 0, new, len(events), session_start, seal)
    already = mark.synced if mark is not None else row.event_count - row.session_start_seq
    new = list(events)[max(already, 0) :]
    start = row.event_count
    session_start = _session_start(new, start, row.session_start_seq)
    if new:
        conn.execute(
            tracker_conversations.update()
            .where(_CONV.sender_id == sender)
            .values(
                event_count=start + len(new), session_start_seq=session_start, last_event_at=now
            )
        )
    return _insert(conn, sender, row.generation, start, new, len(events), session_start, seal)


def _insert(
    conn: Connection,
    sender: str,
    generation: str,
    start: int,
    new: list[Any],
    tracker_len: int,
    session_start: int,
    seal: RowSealer,
    presealed: list[dict[str, Any]] | None = None,
) -> Appended:
    if new:
        rows = _sealed_rows(seal, generation, start, new) if presealed is None else presealed
        _INSERT_EVENTS.execute(conn, rows)
    count = start + len(new)
    return Appended(
        new,
        Version(generation, count, session_start),
        Mark(generation, tracker_len, count, session_start),
    )


def unsaved(events: Sequence[Any], synced: int) -> list[Any]:
    """The events after the first `synced`, read from the end: a save costs the same at event
    10 and at event 2000 (a tracker's events are a deque, which slices only by copying)."""
    count = len(events) - synced
    if count <= 0:
        return []
    return list(itertools.islice(reversed(events), count))[::-1]


def _session_start(new: list[Any], start: int, current: int) -> int:
    for i in range(len(new) - 1, -1, -1):
        if getattr(new[i], "type_name", None) == "session_started":
            return start + i
    return current


# The statements of every turn, built once (building one costs more than running it on SQLite)
# and run on the driver's cursor (compliance/storage/direct.py).
_READ_VERSION = Direct(
    sa.select(_CONV.generation, _CONV.event_count, _CONV.session_start_seq).where(
        _CONV.sender_id == sa.bindparam("v_sender")
    )
)
_ADVANCE = Direct(
    tracker_conversations.update()
    .where(
        _CONV.sender_id == sa.bindparam("a_sender"),
        _CONV.generation == sa.bindparam("a_generation"),
        _CONV.event_count == sa.bindparam("a_start"),
    )
    .values(
        event_count=sa.bindparam("a_count"),
        session_start_seq=sa.bindparam("a_session_start"),
        last_event_at=sa.bindparam("a_now"),
    )
)
_INSERT_EVENTS = Direct(tracker_events.insert())
