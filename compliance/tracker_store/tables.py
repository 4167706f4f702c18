"""The encrypted tracker store's tables on the shared metadata (created by migration 0004_tracker).

tracker_events holds one row per Rasa event: the lookup columns Rasa's own SQL store has (type,
timestamp, intent and action name), the non-personal fields as JSON, and the personal fields as
one sealed blob under the subject's data key. (sender_id, seq) is unique, so two writers can never
interleave a conversation. tracker_conversations is one row per conversation: the next seq, where
the latest session starts, and when it was last written, so that save, retrieve and retention
never COUNT or scan events. `generation` changes when a conversation is deleted and begun again,
so a cached copy of the old one can never be mistaken for the new one.
"""

from __future__ import annotations

import sqlalchemy as sa

from compliance.storage.metadata import metadata

SENDER_LEN = 255
NAME_LEN = 255
GENERATION_LEN = 32

tracker_events = sa.Table(
    "tracker_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("sender_id", sa.String(SENDER_LEN), nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("type_name", sa.String(NAME_LEN), nullable=False),
    sa.Column("timestamp", sa.Float, nullable=True),
    sa.Column("intent_name", sa.String(NAME_LEN), nullable=True),
    sa.Column("action_name", sa.String(NAME_LEN), nullable=True),
    sa.Column("clear_fields", sa.JSON, nullable=False),
    sa.Column("sealed", sa.LargeBinary, nullable=False),
    sa.UniqueConstraint("sender_id", "seq", name="uq_tracker_events_sender_id_seq"),
    sqlite_autoincrement=True,
)

tracker_conversations = sa.Table(
    "tracker_conversations",
    metadata,
    sa.Column("sender_id", sa.String(SENDER_LEN), primary_key=True),
    sa.Column("generation", sa.String(GENERATION_LEN), nullable=False),
    sa.Column("event_count", sa.Integer, nullable=False),
    sa.Column("session_start_seq", sa.Integer, nullable=False),
    sa.Column("last_event_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_tracker_conversations_last_event_at", "last_event_at"),
)
