"""bench/write_lock_meter.py: the time a process holds SQLite's write lock, and only that."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from bench.write_lock_meter import WriteLockMeter
from compliance.storage.sqlite_write_lock import WriteLockedConnection, _FileLock


def _connect(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, factory=WriteLockedConnection, check_same_thread=False)


def test_a_write_transaction_is_metered_from_its_first_write_to_its_commit(tmp_path: Path) -> None:
    database = tmp_path / "meter.db"
    with sqlite3.connect(database) as setup:
        setup.execute("CREATE TABLE t (n INTEGER)")
    connection = _connect(database)
    meter = WriteLockMeter()
    with meter.installed():
        connection.execute("SELECT count(*) FROM t").fetchone()  # a read takes no lock
        time.sleep(0.02)
        assert meter.held == 0.0
        connection.execute("INSERT INTO t VALUES (1)")
        time.sleep(0.03)
        connection.commit()
        held = meter.held
        time.sleep(0.02)  # after the commit: not held
        assert meter.held == held
    assert 0.03 <= held < 0.5
    connection.execute("INSERT INTO t VALUES (2)")
    connection.commit()
    assert meter.held == held  # uninstalled: the lock is the product's own again
    assert "timed" not in _FileLock.acquire.__name__
    connection.close()
