"""identity vault and subject data keys

Revision ID: 0001_identity
Revises: None

Tables of compliance/storage/tables_identity.py, spelled out so this revision stays what it was.
The single kek_fence row is created here so that writers only ever read or lock it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_identity"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "subject_keys",
        sa.Column("pseudonym", sa.String(64), nullable=False),
        sa.Column("generation", sa.Integer, nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary, nullable=True),
        sa.Column("kek_version", sa.Integer, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("pseudonym", name="pk_subject_keys"),
    )
    op.create_index("ix_subject_keys_kek_version", "subject_keys", ["kek_version"])
    op.create_table(
        "identities",
        sa.Column("pseudonym", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("sealed_identifier", sa.LargeBinary, nullable=True),
        sa.Column("canonical", sa.String(64), nullable=True),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("pseudonym", name="pk_identities"),
    )
    op.create_index("ix_identities_canonical", "identities", ["canonical"])
    fence = op.create_table(
        "kek_fence",
        sa.Column("id", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("min_kek_version", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_kek_fence"),
    )
    op.bulk_insert(fence, [{"id": 1, "min_kek_version": 0}])


def downgrade() -> None:
    op.drop_table("kek_fence")
    op.drop_index("ix_identities_canonical", table_name="identities")
    op.drop_table("identities")
    op.drop_index("ix_subject_keys_kek_version", table_name="subject_keys")
    op.drop_table("subject_keys")
