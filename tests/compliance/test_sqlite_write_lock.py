"""SQLite writers take turns through the lock file (compliance/storage/sqlite_write_lock.py): a
connection holds it from its first write to the end of its transaction (commit, rollback, an
autocommit statement, close), reads never take it, a second writer waits for the first's
commit (a thread of this process, or another process) and a wait past the connection's timeout
fails as SQLite's own does."""

from __future__ import annotations

import fcntl
import multiprocessing
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from compliance.storage import create_engine_from_url
from compliance.storage.sqlite_write_lock import LOCK_SUFFIX, WriteLockedConnection


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "lock.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (n INTEGER)")
    return path


def held(database: Path) -> bool:
    """Whether some connection holds the write lock (probed through a file of our own: flock
    conflicts between two open files even in one process)."""
    fd = os.open(str(database) + LOCK_SUFFIX, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing drops our probe's lock, if it got it
    return False


def connect(database: Path, timeout: float = 5.0) -> WriteLockedConnection:
    return sqlite3.connect(  # type: ignore[return-value]
        database, timeout=timeout, factory=WriteLockedConnection, check_same_thread=False
    )


def test_a_write_holds_the_lock_until_its_transaction_ends(database: Path) -> None:
    conn = connect(database)
    conn.execute("SELECT n FROM t").fetchall()
    assert not held(database)  # reads never take it
    conn.execute("INSERT INTO t VALUES (1)")
    assert held(database)
    conn.execute("SELECT n FROM t").fetchall()
    assert held(database)  # until the transaction ends
    conn.commit()
    assert not held(database)
    conn.executemany("INSERT INTO t VALUES (?)", [(2,), (3,)])
    assert held(database)
    conn.rollback()
    assert not held(database)
    conn.execute("INSERT INTO t VALUES (4)")
    conn.close()  # a closed connection's transaction is over too
    assert not held(database)


def test_autocommit_writes_and_explicit_transactions(database: Path) -> None:
    conn = connect(database)
    conn.isolation_level = None  # as the audit log's writer runs
    conn.execute("CREATE TABLE u (n INTEGER)")  # autocommit: done when it returns
    assert not held(database)
    conn.execute("BEGIN IMMEDIATE")  # takes SQLite's write lock at once: ours first
    assert held(database)
    conn.execute("INSERT INTO u VALUES (1)")
    conn.commit()
    assert not held(database)
    conn.execute("BEGIN")  # deferred: a read transaction until it writes
    assert not held(database)
    conn.execute("ROLLBACK")
    conn.close()


def test_a_second_thread_writes_once_the_first_commits(database: Path) -> None:
    first, second = connect(database), connect(database)
    first.execute("INSERT INTO t VALUES (1)")
    done = threading.Event()

    def write() -> None:
        second.execute("INSERT INTO t VALUES (2)")
        second.commit()
        done.set()

    thread = threading.Thread(target=write)
    thread.start()
    assert not done.wait(0.3)  # waiting for the first's transaction
    first.commit()
    assert done.wait(5)
    thread.join()
    assert [n for (n,) in first.execute("SELECT n FROM t ORDER BY rowid")] == [1, 2]


def test_a_thread_writing_through_a_second_connection_fails_as_sqlite_does(
    database: Path,
) -> None:
    first, second = connect(database), connect(database, timeout=0.2)
    first.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(sqlite3.OperationalError, match="database is locked"):
        second.execute("INSERT INTO t VALUES (2)")  # the same thread: it would wait for itself
    first.commit()
    second.execute("INSERT INTO t VALUES (2)")
    second.commit()


def _hold_a_write(path: str, started, release) -> None:  # type: ignore[no-untyped-def]
    conn = connect(Path(path))
    conn.execute("INSERT INTO t VALUES (1)")
    started.set()
    release.wait(30)
    conn.commit()


@contextmanager
def another_process_writing(database: Path) -> Iterator[Any]:
    """A process in the middle of a write transaction; set the yielded event to commit it."""
    spawn = multiprocessing.get_context("spawn")
    started, release = spawn.Event(), spawn.Event()
    child = spawn.Process(target=_hold_a_write, args=(str(database), started, release))
    child.start()
    try:
        assert started.wait(30)
        yield release
    finally:
        release.set()
        child.join(30)


def test_another_process_writing_is_waited_for_past_sqlites_busy_timeout(database: Path) -> None:
    """The other process holds its transaction for longer than this connection's busy timeout
    (0.05 s): SQLite's handler would have given up; the lock waits its own timeout (5 s) and
    writes as soon as the other commits."""
    with another_process_writing(database) as release:
        assert held(database)
        threading.Timer(0.5, release.set).start()
        conn = sqlite3.connect(database, timeout=5.0, factory=WriteLockedConnection)
        conn.execute("PRAGMA busy_timeout = 50")  # SQLite's own patience: 50 ms
        began = time.monotonic()
        conn.execute("INSERT INTO t VALUES (2)")
        conn.commit()
        assert time.monotonic() - began >= 0.3  # it did wait for the other's commit
        assert [n for (n,) in conn.execute("SELECT n FROM t ORDER BY rowid")] == [1, 2]


def test_a_wait_past_the_timeout_fails_as_sqlite_does(database: Path) -> None:
    with another_process_writing(database):
        conn = connect(database, timeout=0.2)
        with pytest.raises(sqlite3.OperationalError, match="database is locked"):
            conn.execute("INSERT INTO t VALUES (2)")
        assert not conn.in_transaction


def test_the_engines_connections_take_part(database: Path) -> None:
    engine = create_engine_from_url(f"sqlite:///{database}")
    with engine.begin() as conn:
        conn.execute(text("SELECT n FROM t")).all()
        assert not held(database)
        conn.execute(text("INSERT INTO t VALUES (7)"))
        assert held(database)
    assert not held(database)
    engine.dispose()


def test_in_memory_databases_have_no_lock_file(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    conn = sqlite3.connect(":memory:", factory=WriteLockedConnection)
    conn.execute("CREATE TABLE t (n INTEGER)")
    conn.execute("INSERT INTO t VALUES (1)")
    conn.commit()
    assert list(tmp_path.iterdir()) == []


def test_the_lock_file_has_the_databases_permissions(tmp_path: Path) -> None:
    """Every user who may write the database may take its lock (SQLite gives its -wal and -shm
    files the database's permissions too)."""
    database = tmp_path / "shared.db"
    sqlite3.connect(database).close()
    os.chmod(database, 0o660)
    old = os.umask(0o002)
    try:
        conn = connect(database)
        conn.execute("CREATE TABLE t (n INTEGER)")
        conn.close()
    finally:
        os.umask(old)
    assert oct(os.stat(str(database) + LOCK_SUFFIX).st_mode & 0o777) == oct(0o660)


def test_a_lock_file_that_cannot_be_opened_fails_the_write_as_sqlite_would(
    tmp_path: Path,
) -> None:
    database = tmp_path / "db.sqlite"
    sqlite3.connect(database).close()
    os.mkdir(str(database) + LOCK_SUFFIX)  # a directory where the lock file should be
    conn = connect(database)
    with pytest.raises(sqlite3.OperationalError, match="unable to open the write lock file"):
        conn.execute("CREATE TABLE t (n INTEGER)")
