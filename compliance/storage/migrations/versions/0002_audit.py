"""audit log entries and checkpoints

Revision ID: 0002_audit
Revises: '0001_identity'
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0002_audit"
down_revision = "0001_identity"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # PLACEHOLDER: filled by the work that owns these tables


def downgrade() -> None:
    pass
