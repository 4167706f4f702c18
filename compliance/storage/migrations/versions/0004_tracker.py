"""encrypted tracker store

Revision ID: 0004_tracker
Revises: '0003_consent'

Tables are spelled out here rather than imported from compliance.tracker_store.tables, so that
this revision stays what it was when later revisions change the tables.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_tracker"
down_revision = "0003_consent"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tracker_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("sender_id", sa.String(255), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("type_name", sa.String(255), nullable=False),
        sa.Column("timestamp", sa.Float, nullable=True),
        sa.Column("intent_name", sa.String(255), nullable=True),
        sa.Column("action_name", sa.String(255), nullable=True),
        sa.Column("clear_fields", sa.JSON, nullable=False),
        sa.Column("sealed", sa.LargeBinary, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_tracker_events"),
        sa.UniqueConstraint("sender_id", "seq", name="uq_tracker_events_sender_id_seq"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "tracker_conversations",
        sa.Column("sender_id", sa.String(255), nullable=False),
        sa.Column("generation", sa.String(32), nullable=False),
        sa.Column("event_count", sa.Integer, nullable=False),
        sa.Column("session_start_seq", sa.Integer, nullable=False),
        sa.Column("last_event_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sender_id", name="pk_tracker_conversations"),
    )
    op.create_index(
        "ix_tracker_conversations_last_event_at", "tracker_conversations", ["last_event_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_tracker_conversations_last_event_at", table_name="tracker_conversations")
    op.drop_table("tracker_conversations")
    op.drop_table("tracker_events")
