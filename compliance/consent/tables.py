"""The consent ledger's tables on the shared metadata (created by migration 0003_consent).

consent_receipts is append-only evidence: one row per transition, never updated. consent_state is
the current state per (subject, purpose), a cache of the receipts that can be rebuilt from them,
plus the two per-subject facts the send guard needs: last_inbound_at (24-hour window) and
opt_out_confirmation_sent_at (the single confirmation after STOP).
"""

from __future__ import annotations

import sqlalchemy as sa

from compliance.storage.metadata import metadata

SUBJECT_LEN = 128
NAME_LEN = 32
VERSION_LEN = 64
HASH_LEN = 64

consent_receipts = sa.Table(
    "consent_receipts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("subject", sa.String(SUBJECT_LEN), nullable=False, index=True),
    sa.Column("purpose", sa.String(NAME_LEN), nullable=False),
    sa.Column("event", sa.String(NAME_LEN), nullable=False),
    sa.Column("from_state", sa.String(NAME_LEN), nullable=False),
    sa.Column("to_state", sa.String(NAME_LEN), nullable=False),
    sa.Column("notice_version", sa.String(VERSION_LEN), nullable=True),
    sa.Column("method", sa.String(NAME_LEN), nullable=False),
    sa.Column("time", sa.DateTime(timezone=True), nullable=False),
    sa.Column("evidence_hash", sa.String(HASH_LEN), nullable=True),
)

consent_state = sa.Table(
    "consent_state",
    metadata,
    sa.Column("subject", sa.String(SUBJECT_LEN), primary_key=True),
    sa.Column("purpose", sa.String(NAME_LEN), primary_key=True),
    sa.Column("state", sa.String(NAME_LEN), nullable=False),
    sa.Column("notice_version", sa.String(VERSION_LEN), nullable=True),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("pending_since", sa.DateTime(timezone=True), nullable=True),
    sa.Column("last_inbound_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("opt_out_confirmation_sent_at", sa.DateTime(timezone=True), nullable=True),
    sa.Index("ix_consent_state_state_pending", "state", "pending_since"),
)
