"""The idle SQLite connections that one-statement reads borrow (compliance/storage/
read_connections.py): each is the caller's alone while borrowed, taken out of the engine's pool,
set up as the engine sets up its own, and never reused after it raised."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from compliance.storage import create_engine_from_url
from compliance.storage.read_connections import MAX_IDLE, read_connections


@pytest.fixture
def sqlite(tmp_path: Path) -> Engine:
    engine = create_engine_from_url(f"sqlite:///{tmp_path / 'reads.db'}")
    yield engine
    engine.dispose()


def test_a_connection_given_back_is_lent_again_and_is_set_up_as_the_engines(sqlite: Engine):
    reads = read_connections(sqlite)
    with reads.borrowed() as first:
        # The engine's connect-time settings ran on it (compliance/storage/engine.py).
        assert first.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert first.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    with reads.borrowed() as again:
        assert again is first
    assert sqlite.pool.checkedout() == 0
    assert read_connections(sqlite) is reads


def test_two_borrowers_at_once_get_two_connections(sqlite: Engine):
    reads = read_connections(sqlite)
    with reads.borrowed() as one, reads.borrowed() as other:
        assert one is not other


def test_a_connection_that_raised_is_closed_not_lent_again(sqlite: Engine):
    reads = read_connections(sqlite)
    with pytest.raises(RuntimeError), reads.borrowed() as failed:
        raise RuntimeError("a read went wrong")
    with pytest.raises(Exception, match="closed"):
        failed.execute("SELECT 1")
    with reads.borrowed() as fresh:
        assert fresh is not failed
        assert fresh.execute("SELECT 1").fetchone() == (1,)


def test_no_more_idle_connections_are_kept_than_the_cap(sqlite: Engine):
    reads = read_connections(sqlite)
    lent, ready, done = [], threading.Barrier(MAX_IDLE + 2), threading.Event()

    def borrow() -> None:
        with reads.borrowed() as raw:
            lent.append(raw)
            ready.wait()
            done.wait()

    threads = [threading.Thread(target=borrow) for _ in range(MAX_IDLE + 1)]
    for thread in threads:
        thread.start()
    ready.wait()
    done.set()
    for thread in threads:
        thread.join()
    closed = 0
    for raw in lent:
        try:
            raw.execute("SELECT 1")
        except Exception:  # noqa: BLE001 - sqlite3.ProgrammingError: closed
            closed += 1
    assert closed == 1


def test_disposing_of_the_engine_closes_the_idle_connections(sqlite: Engine):
    reads = read_connections(sqlite)
    with reads.borrowed() as raw:
        pass
    sqlite.dispose()
    with pytest.raises(Exception, match="closed"):
        raw.execute("SELECT 1")


def test_the_idle_connections_do_not_keep_their_engine_alive(tmp_path: Path):
    import gc
    import weakref

    engine = create_engine_from_url(f"sqlite:///{tmp_path / 'dropped.db'}")
    with read_connections(engine).borrowed():
        pass
    dropped = weakref.ref(engine)
    del engine
    gc.collect()
    assert dropped() is None  # and with it its pool and idle connections
