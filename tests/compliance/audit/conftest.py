"""Audit test fixtures: a migrated database per test on SQLite (tmp file) and, when
SIGILLO_TEST_POSTGRES_URL is set, on PostgreSQL in a fresh database created for the session."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy.engine import Engine

from compliance.storage import create_engine_from_url, migrate

SEED = bytes(range(32))  # test-only signing seed


class StepClock:
    """A deterministic UTC clock: each call advances by `step`."""

    def __init__(self, start: datetime | None = None, step: timedelta = timedelta(seconds=1)):
        self.now = start or datetime(2024, 1, 1, tzinfo=timezone.utc)
        self.step = step

    def __call__(self) -> datetime:
        self.now += self.step
        return self.now


@pytest.fixture
def sqlite_engine(tmp_path) -> Iterator[Engine]:  # type: ignore[no-untyped-def]
    engine = create_engine_from_url(f"sqlite:///{tmp_path / 'audit.db'}")
    migrate(engine)
    yield engine
    engine.dispose()
