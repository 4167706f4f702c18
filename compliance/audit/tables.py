"""Audit tables on the shared metadata; migration 0002_audit creates them.

audit_entries is the leaf sequence (seq = RFC 9162 leaf index), audit_checkpoints the signed
tree heads with the compact range at each (so pruning can drop older leaves and keep proofs),
and audit_head the single row every writer locks: it holds the tree size and compact range,
which is what keeps concurrent writers on one gapless, unforked sequence.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Integer, String, Table, Text

from compliance.storage.metadata import metadata

HEAD_ID = 1

audit_entries = Table(
    "audit_entries",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("time", String(32), nullable=False, index=True),  # "YYYY-MM-DDTHH:MM:SS.ffffffZ"
    Column("component", String(48), nullable=False),
    Column("kind", String(48), nullable=False),
    Column("subject", String(160), nullable=True),
    Column("attributes", Text, nullable=False),  # canonical JSON
    Column("leaf_hash", String(64), nullable=False),  # hex SHA-256(0x00 || leaf data)
)

audit_checkpoints = Table(
    "audit_checkpoints",
    metadata,
    Column("size", BigInteger, primary_key=True, autoincrement=False),
    Column("root", String(64), nullable=False),  # hex
    Column("time", String(32), nullable=False),
    Column("signature", String(128), nullable=False),  # base64 Ed25519
    Column("note", Text, nullable=False),  # the full signed note, for export as is
    Column("compact_range", Text, nullable=False),  # CompactRange.to_json() at this size
)

audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("size", BigInteger, nullable=False),
    Column("compact_range", Text, nullable=False),
    Column("last_checkpoint_size", BigInteger, nullable=False),
    Column("last_checkpoint_time", String(32), nullable=True),
    Column("pruned_before", BigInteger, nullable=False),  # first kept seq (a checkpoint size)
)
