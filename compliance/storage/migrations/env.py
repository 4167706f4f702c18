"""Alembic environment: runs on the connection handed in by compliance.storage.migrate()."""

from __future__ import annotations

from alembic import context

from compliance.storage.metadata import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only via the alembic CLI
    raise RuntimeError("run migrations through compliance.storage.migrate(engine)")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
