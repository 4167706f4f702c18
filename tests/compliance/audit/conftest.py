"""Audit test fixtures: a migrated database per test on SQLite (tmp file) and, when
SIGILLO_TEST_POSTGRES_URL is set, on PostgreSQL in a fresh database created for the session."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

from compliance.storage import create_engine_from_url, migrate

SEED = bytes(range(32))  # test-only signing seed
POSTGRES_ENV = "SIGILLO_TEST_POSTGRES_URL"


class StepClock:
    """A deterministic UTC clock: each call advances by `step`."""

    def __init__(self, start: datetime | None = None, step: timedelta = timedelta(seconds=1)):
        self.now = start or datetime(2024, 1, 1, tzinfo=timezone.utc)
        self.step = step

    def __call__(self) -> datetime:
        self.now += self.step
        return self.now


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """URL of a throwaway database sigillo_audit_<random>, dropped at the end of the session."""
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        pytest.skip(f"{POSTGRES_ENV} is not set (e.g. postgresql+psycopg2://postgres@127.0.0.1/test)")
    name = f"sigillo_audit_{secrets.token_hex(4)}"
    admin = create_engine(base, future=True, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _reset_postgres(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """A freshly migrated database URL on each backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'audit.db'}"
        engine = create_engine_from_url(url)
    else:
        url = request.getfixturevalue("postgres_server_url")
        engine = create_engine_from_url(url)
        _reset_postgres(engine)
    migrate(engine)
    engine.dispose()
    yield url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = create_engine_from_url(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_engine(tmp_path) -> Iterator[Engine]:  # type: ignore[no-untyped-def]
    engine = create_engine_from_url(f"sqlite:///{tmp_path / 'audit.db'}")
    migrate(engine)
    yield engine
    engine.dispose()
