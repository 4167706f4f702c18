"""encrypted tracker store

Revision ID: 0004_tracker
Revises: '0003_consent'
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0004_tracker"
down_revision = "0003_consent"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # PLACEHOLDER: filled by the work that owns these tables


def downgrade() -> None:
    pass
