"""Deleting conversations: one on request (erasure) and all idle ones (retention).

Rasa 3.6's stores have no delete; GDPR art. 5(1)(e) and 17 need one. Both paths delete a
conversation's events and its tracker_conversations row in one transaction, so a reader sees the
conversation whole or not at all. Idle means "not written for N days", read from
tracker_conversations.last_event_at (indexed), so retention never scans events. The clock is
passed in; an optional audit hook receives a dict with counts and pseudonyms only.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from compliance.errors import ConfigError
from compliance.storage.guard import storage_errors
from compliance.tracker_store.tables import tracker_conversations, tracker_events

AuditHook = Callable[[dict], None]
_BATCH = 500


def delete_conversation(engine: Engine, sender_id: str) -> bool:
    """Delete every event of `sender_id`; True if there was a conversation."""
    with storage_errors(), engine.begin() as conn:
        return _delete(conn, [sender_id]) > 0


def delete_idle_conversations(
    engine: Engine,
    older_than_days: int,
    now: datetime,
    *,
    audit: AuditHook | None = None,
) -> int:
    """Delete conversations last written before now - older_than_days; return how many."""
    if isinstance(older_than_days, bool) or not isinstance(older_than_days, int):
        raise ConfigError("retention --days: must be an integer >= 1")
    if older_than_days < 1:
        raise ConfigError("retention --days: must be an integer >= 1")
    if now.tzinfo is None:
        raise ConfigError("retention now: must be timezone-aware")
    cutoff = now.astimezone(timezone.utc) - timedelta(days=older_than_days)
    deleted = 0
    while True:
        with storage_errors(), engine.begin() as conn:
            senders = list(
                conn.execute(
                    sa.select(tracker_conversations.c.sender_id)
                    .where(tracker_conversations.c.last_event_at < cutoff)
                    .limit(_BATCH)
                ).scalars()
            )
            if not senders:
                break
            deleted += _delete(conn, senders, cutoff)
        if len(senders) < _BATCH:
            break
    if audit is not None:  # the shape compliance.audit.AuditLog.append takes
        audit(
            {
                "component": "tracker_store",
                "kind": "retention_run",
                "subject": None,
                "attributes": {"older_than_days": older_than_days, "conversations": deleted},
            }
        )
    return deleted


def _delete(conn: Connection, senders: list[str], cutoff: datetime | None = None) -> int:
    conv = tracker_conversations.c
    if cutoff is not None:
        # A conversation written since the batch was selected is no longer idle: keep it.
        senders = list(
            conn.execute(
                sa.select(conv.sender_id).where(
                    conv.sender_id.in_(senders), conv.last_event_at < cutoff
                )
            ).scalars()
        )
        if not senders:
            return 0
    removed = conn.execute(
        tracker_conversations.delete().where(conv.sender_id.in_(senders))
    ).rowcount
    conn.execute(tracker_events.delete().where(tracker_events.c.sender_id.in_(senders)))
    return int(removed)
