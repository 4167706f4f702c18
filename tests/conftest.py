"""Session-wide fixtures: the trained model (once per data fingerprint) and one running bot stack
shared by every end-to-end test."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# No test may read or write the developer's own ./data (key file, database) by accident: the
# defaults point into a throwaway folder, and tests that need keys make their own.
os.environ["SIGILLO_DATA_DIR"] = tempfile.mkdtemp(prefix="sigillo-tests-")
for _name in ("SIGILLO_KEY_FILE", "SIGILLO_DATABASE_URL", "SIGILLO_PSEUDONYM_KEY"):
    os.environ.pop(_name, None)


@pytest.fixture(scope="session")
def trained_model() -> Path:
    from devstack.training import ensure_model

    return ensure_model(quiet=True)


@pytest.fixture(scope="session")
def bot_stack(trained_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """One stack for every end-to-end test: the Cloud API simulator, the action server and the
    Rasa server serving the WhatsApp channel (against the simulator) and the REST channel, as
    real processes on free loopback ports, with their own key file and SQLite database."""
    from devstack.stack import local_whatsapp_stack, start_stack

    config = local_whatsapp_stack(
        trained_model,
        tmp_path_factory.mktemp("stack"),
        # Media sent in any test is downloaded, sealed and stored (tests/e2e/test_media.py).
        whatsapp_options={"download_media": True},
    )
    with start_stack(config) as stack:
        yield stack


@pytest.fixture(scope="session")
def simulator(bot_stack: object) -> Iterator[object]:
    from connectors.whatsapp.simulator.client import SimulatorClient

    with SimulatorClient(bot_stack.simulator_url) as client:  # type: ignore[attr-defined]
        yield client


@pytest.fixture(scope="session")
def stack_context(bot_stack: object) -> object:
    """The compliance layer as the stack sees it (same database and key file), for set-up and
    for checks from the test process."""
    from compliance.context import build_context

    return build_context({**os.environ, **bot_stack.env}, component="cli")  # type: ignore[attr-defined]


# --- Databases: every storage test runs on SQLite and, when SIGILLO_TEST_POSTGRES_URL is set (as
# in CI), on PostgreSQL in a throwaway database created for the session.

POSTGRES_ENV = "SIGILLO_TEST_POSTGRES_URL"


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """URL of a throwaway database sigillo_test_<random>, dropped at the end of the session."""
    from devstack.postgres import throwaway_database

    base = os.environ.get(POSTGRES_ENV)
    if not base:
        pytest.skip(f"{POSTGRES_ENV} is not set (e.g. postgresql+psycopg2://postgres@127.0.0.1/test)")
    with ExitStack() as stack:
        try:
            url = stack.enter_context(throwaway_database(base, prefix="sigillo_test"))
        except Exception as exc:  # a server that is down or refuses: say so, do not fail
            pytest.skip(f"PostgreSQL at {POSTGRES_ENV} is not usable: {type(exc).__name__}")
        yield url


def reset_postgres(url: str) -> None:
    from sqlalchemy import text

    from compliance.storage import create_engine_from_url

    engine = create_engine_from_url(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A freshly migrated, empty database on each backend."""
    from compliance.storage import create_engine_from_url, migrate

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'sigillo.db'}"
    else:
        url = request.getfixturevalue("postgres_server_url")
        reset_postgres(url)
    engine = create_engine_from_url(url)
    migrate(engine)
    engine.dispose()
    yield url


@pytest.fixture
def engine(db_url: str) -> Iterator[object]:
    from compliance.storage import create_engine_from_url

    engine = create_engine_from_url(db_url)
    yield engine
    engine.dispose()
