"""WhatsApp inbox (idempotency and recovery), seen statuses, numbered choices

Revision ID: 0005_inbox
Revises: 0004_tracker
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_inbox"
down_revision = "0004_tracker"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "wa_inbox",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True,
                  autoincrement=True),
        sa.Column("id_hash", sa.String(80), nullable=False, unique=True),
        sa.Column("subject", sa.String(64), nullable=False),
        sa.Column("received_at", sa.Float, nullable=False),
        sa.Column("sealed", sa.LargeBinary, nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("lease_owner", sa.String(40), nullable=True),
        sa.Column("lease_until", sa.Float, nullable=True),
    )
    op.create_index("ix_wa_inbox_state_seq", "wa_inbox", ["state", "seq"])
    op.create_table(
        "wa_seen_statuses",
        sa.Column("key_hash", sa.String(80), primary_key=True),
        sa.Column("received_at", sa.Float, nullable=False),
    )
    op.create_table(
        "wa_numbered_choices",
        sa.Column("subject", sa.String(64), primary_key=True),
        sa.Column("choices", sa.Text, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("wa_numbered_choices")
    op.drop_table("wa_seen_statuses")
    op.drop_index("ix_wa_inbox_state_seq", "wa_inbox")
    op.drop_table("wa_inbox")
