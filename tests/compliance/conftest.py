"""Database fixtures shared by the compliance tests: a migrated database per test on SQLite (a tmp
file) and on PostgreSQL when SIGILLO_TEST_POSTGRES_URL is set, in a database created for this
session (sigillo_test_<random>) and dropped at its end, so parallel runs never collide."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

from compliance.storage import create_engine_from_url, migrate

POSTGRES_ENV = "SIGILLO_TEST_POSTGRES_URL"


@pytest.fixture(scope="session")
def postgres_session_url() -> Iterator[str]:
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        pytest.skip(
            f"{POSTGRES_ENV} is not set (e.g. postgresql+psycopg2://postgres@127.0.0.1:5432/test)"
        )
    name = f"sigillo_test_{secrets.token_hex(4)}"
    admin = create_engine(base, future=True, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A freshly migrated database URL, on each backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'compliance.db'}"
        engine = create_engine_from_url(url)
    else:
        url = request.getfixturevalue("postgres_session_url")
        engine = create_engine_from_url(url)
        with engine.begin() as connection:  # a clean schema per test
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    migrate(engine)
    engine.dispose()
    yield url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = create_engine_from_url(db_url)
    yield engine
    engine.dispose()
