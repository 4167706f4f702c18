"""Engine factory and schema migration for the compliance database.

SQLite under SIGILLO_DATA_DIR is the embedded default; PostgreSQL is used by URL. Every engine is
created with SQLAlchemy 1.4's 2.0-style API (future=True), and the schema is brought up to date
with Alembic, never with metadata.create_all, so that a production database can be migrated.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine as _sa_create_engine
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import QueuePool

from compliance.storage.sqlite_write_lock import WriteLockedConnection

_MIGRATIONS = Path(__file__).parent / "migrations"


def default_database_url(environ: Mapping[str, str] | None = None) -> str:
    """SIGILLO_DATABASE_URL if set, else a SQLite file under SIGILLO_DATA_DIR (default ./data)."""
    env = os.environ if environ is None else environ
    url = env.get("SIGILLO_DATABASE_URL", "").strip()
    if url:
        return url
    data_dir = Path(env.get("SIGILLO_DATA_DIR", "data")).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{data_dir / 'sigillo.db'}"


def create_engine_from_url(url: str) -> Engine:
    """An engine for `url`; SQLite gets WAL and a busy timeout so that processes can share it."""
    if url.startswith("sqlite"):
        # A pool of reused connections: SQLAlchemy 1.4 opens a new SQLite connection per
        # checkout by default (NullPool), which costs a connect and the pragmas each time.
        engine = _sa_create_engine(
            url,
            future=True,
            poolclass=QueuePool,
            pool_size=5,
            max_overflow=10,
            # Writers take turns through a lock file (sqlite_write_lock.py), not by sleeping.
            connect_args={
                "timeout": 30,
                "check_same_thread": False,
                "factory": WriteLockedConnection,
            },
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return _sa_create_engine(url, future=True, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    # WAL lets the Rasa server, the action server and the CLI read while one writes;
    # foreign keys are off by default in SQLite.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def migrate(engine: Engine) -> None:
    """Bring the schema at `engine` to the newest Alembic revision (idempotent)."""
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
