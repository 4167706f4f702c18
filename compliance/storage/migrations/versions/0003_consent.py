"""consent ledger

Revision ID: 0003_consent
Revises: '0002_audit'

Tables are spelled out here rather than imported from compliance.consent.tables, so that this
revision stays what it was when later revisions change the tables.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_consent"
down_revision = "0002_audit"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "consent_receipts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("subject", sa.String(128), nullable=False),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("event", sa.String(32), nullable=False),
        sa.Column("from_state", sa.String(32), nullable=False),
        sa.Column("to_state", sa.String(32), nullable=False),
        sa.Column("notice_version", sa.String(64), nullable=True),
        sa.Column("method", sa.String(32), nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("evidence_hash", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_consent_receipts"),
    )
    op.create_index("ix_consent_receipts_subject", "consent_receipts", ["subject"])
    op.create_table(
        "consent_state",
        sa.Column("subject", sa.String(128), nullable=False),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("notice_version", sa.String(64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("pending_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_inbound_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("opt_out_confirmation_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("subject", "purpose", name="pk_consent_state"),
    )
    op.create_index(
        "ix_consent_state_state_pending", "consent_state", ["state", "pending_since"]
    )


def downgrade() -> None:
    op.drop_index("ix_consent_state_state_pending", table_name="consent_state")
    op.drop_table("consent_state")
    op.drop_index("ix_consent_receipts_subject", table_name="consent_receipts")
    op.drop_table("consent_receipts")
