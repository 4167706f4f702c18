"""inbound media, sealed under each subject's data key

Revision ID: 0006_media
Revises: 0005_inbox

The table of compliance/media/tables.py, spelled out so this revision stays what it was.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_media"
down_revision = "0005_inbox"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbound_media",
        sa.Column("handle", sa.String(40), nullable=False),
        sa.Column("subject", sa.String(64), nullable=False),
        sa.Column("media_id_hash", sa.String(80), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("mime_type", sa.String(128), nullable=True),
        sa.Column("size_bytes", sa.Integer, nullable=False),
        sa.Column("key_generation", sa.Integer, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sealed", sa.LargeBinary, nullable=False),
        sa.PrimaryKeyConstraint("handle", name="pk_inbound_media"),
        sa.UniqueConstraint("media_id_hash", name="uq_inbound_media_media_id_hash"),
    )
    op.create_index("ix_inbound_media_subject", "inbound_media", ["subject"])
    op.create_index("ix_inbound_media_received_at", "inbound_media", ["received_at"])


def downgrade() -> None:
    op.drop_index("ix_inbound_media_received_at", table_name="inbound_media")
    op.drop_index("ix_inbound_media_subject", table_name="inbound_media")
    op.drop_table("inbound_media")
