"""WhatsApp inbox (idempotency and recovery)

Revision ID: 0005_inbox
Revises: '0004_tracker'
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0005_inbox"
down_revision = "0004_tracker"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # PLACEHOLDER: filled by the work that owns these tables


def downgrade() -> None:
    pass
