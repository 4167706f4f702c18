"""consent ledger

Revision ID: 0003_consent
Revises: '0002_audit'
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0003_consent"
down_revision = "0002_audit"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # PLACEHOLDER: filled by the work that owns these tables


def downgrade() -> None:
    pass
