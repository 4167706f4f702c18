"""identity vault and subject data keys

Revision ID: 0001_identity
Revises: None
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0001_identity"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # PLACEHOLDER: filled by the work that owns these tables


def downgrade() -> None:
    pass
