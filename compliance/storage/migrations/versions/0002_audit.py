"""audit log entries and checkpoints

Revision ID: 0002_audit
Revises: '0001_identity'

Tables of compliance/audit/tables.py; the single audit_head row is created here so that writers
only ever lock it, never race to insert it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_audit"
down_revision = "0001_identity"
branch_labels = None
depends_on = None

_EMPTY_RANGE = '{"v":1,"size":0,"hashes":[]}'


def upgrade() -> None:
    op.create_table(
        "audit_entries",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("time", sa.String(32), nullable=False),
        sa.Column("component", sa.String(48), nullable=False),
        sa.Column("kind", sa.String(48), nullable=False),
        sa.Column("subject", sa.String(160), nullable=True),
        sa.Column("attributes", sa.Text, nullable=False),
        sa.Column("leaf_hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_audit_entries_time", "audit_entries", ["time"])
    op.create_table(
        "audit_checkpoints",
        sa.Column("size", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("root", sa.String(64), nullable=False),
        sa.Column("time", sa.String(32), nullable=False),
        sa.Column("signature", sa.String(128), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("compact_range", sa.Text, nullable=False),
    )
    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("compact_range", sa.Text, nullable=False),
        sa.Column("last_checkpoint_size", sa.BigInteger, nullable=False),
        sa.Column("last_checkpoint_time", sa.String(32), nullable=True),
        sa.Column("pruned_before", sa.BigInteger, nullable=False),
    )
    op.bulk_insert(head, [{
        "id": 1, "size": 0, "compact_range": _EMPTY_RANGE, "last_checkpoint_size": 0,
        "last_checkpoint_time": None, "pruned_before": 0,
    }])


def downgrade() -> None:
    op.drop_table("audit_head")
    op.drop_table("audit_checkpoints")
    op.drop_index("ix_audit_entries_time", "audit_entries")
    op.drop_table("audit_entries")
