"""Compliance storage: one SQLAlchemy engine factory, one metadata, Alembic migrations."""

from compliance.storage.engine import create_engine_from_url, default_database_url, migrate
from compliance.storage.metadata import metadata

__all__ = ["create_engine_from_url", "default_database_url", "metadata", "migrate"]
