"""Identity tables on the shared metadata (created by migration 0001_identity).

subject_keys   one row per pseudonym: its data key wrapped under a KEK. Erasure NULLs the wrapped
               key and keeps the row as a tombstone (erased_at), so "erased" is distinguishable
               from "never seen"; a later message from the same person starts a new generation
               with a new random key, and ciphertexts of an older generation stay unreadable.
identities     pseudonym -> its identifier sealed under the subject's data key, plus aliasing:
               `canonical` points at the first-seen pseudonym of the same person (NULL = itself);
               `released_at` marks a phone number its owner changed away from.
kek_fence      one row: the lowest KEK version a writer may still wrap new keys under. Raised at
               the start of a rotation so that a process with a stale keyring cannot wrap a new
               key under a KEK that is about to be retired.
"""

from __future__ import annotations

import sqlalchemy as sa

from compliance.storage.metadata import metadata

PSEUDONYM_LEN = 64
FENCE_ID = 1

subject_keys = sa.Table(
    "subject_keys",
    metadata,
    sa.Column("pseudonym", sa.String(PSEUDONYM_LEN), primary_key=True),
    sa.Column("generation", sa.Integer, nullable=False),
    sa.Column("wrapped_key", sa.LargeBinary, nullable=True),
    sa.Column("kek_version", sa.Integer, nullable=True, index=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True),
)

identities = sa.Table(
    "identities",
    metadata,
    sa.Column("pseudonym", sa.String(PSEUDONYM_LEN), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("sealed_identifier", sa.LargeBinary, nullable=True),
    sa.Column("canonical", sa.String(PSEUDONYM_LEN), nullable=True, index=True),
    sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

kek_fence = sa.Table(
    "kek_fence",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("min_kek_version", sa.Integer, nullable=False),
)
