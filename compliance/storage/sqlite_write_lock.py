"""SQLite writers take turns through a lock file, not through SQLite's busy handler.

Why: SQLite lets one connection write at a time, and a writer that finds the database locked
sleeps and tries again, in steps of 1, 2, 5, 10 ... up to 100 ms (its busy handler, SQLITE_BUSY
with a timeout). The webhook front, the Rasa server's turns and the action server write to one
file: under a burst a front thread could lose the race to the turn thread time after time and
sleep its way to half a second (docs/benchmarks.md: one burst in five had an acknowledgement p99
near 600 ms on SQLite, none on PostgreSQL), and every turn that met a front commit slept at
least a millisecond with the turn loop stopped.

Here every connection our engines open takes an exclusive lock on `<database>-writelock`
(flock) before its first write and drops it when its transaction ends, and SQLite's own lock is
then free when it asks (its busy handler stays as the fallback for writers that do not take
part, such as a `sqlite3` shell). Inside one process the threads queue on a `threading.Lock`,
woken the moment it is free (flock is per open file, and the file is opened once per process).
Between processes a waiter tries the flock again after 50 us, then at most every millisecond:
never the busy handler's 100 ms naps that let a writer starve. Both waits end with SQLite's
own error ("database is locked") after the connection's timeout, as before: a thread that
writes through a second connection while its first holds the lock fails instead of waiting for
itself. No wait between processes can close a cycle: a connection takes the file lock before
SQLite's write lock, never after.

Reads never take the lock (WAL lets them run beside a writer). PostgreSQL needs none of this.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import stat
import threading
import time
from typing import Any

# Statements that take SQLite's write lock (pysqlite opens a transaction before DML itself).
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER")
_BEGIN_WRITE = ("BEGIN IMMEDIATE", "BEGIN EXCLUSIVE")
LOCK_SUFFIX = "-writelock"
_FIRST_PAUSE = 0.00005  # seconds between tries of another process's lock, doubling ...
_LONGEST_PAUSE = 0.001  # ... up to this


class _FileLock:
    """The write lock of one database file in this process: a thread lock, then the flock."""

    def __init__(self, database: str) -> None:
        self._database = database
        self._path = database + LOCK_SUFFIX
        self._threads = threading.Lock()
        self._fd: int | None = None
        self._pid = -1

    def acquire(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        if not self._threads.acquire(timeout=timeout):
            raise sqlite3.OperationalError("database is locked")
        try:
            self._flock(deadline)
        except BaseException:
            self._threads.release()
            raise

    def _flock(self, deadline: float) -> None:
        pause = _FIRST_PAUSE
        while True:
            try:
                fcntl.flock(self._file(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:  # another process writes
                if time.monotonic() >= deadline:
                    raise sqlite3.OperationalError("database is locked") from None
            time.sleep(pause)
            pause = min(pause * 2, _LONGEST_PAUSE)

    def release(self) -> None:
        try:
            fcntl.flock(self._file(), fcntl.LOCK_UN)
        finally:
            self._threads.release()

    def _file(self) -> int:
        # A forked child shares its parent's open file, and with it the parent's flock: it
        # opens its own. Read-only is enough for flock; created with the database file's
        # permissions, as SQLite creates its -wal and -shm files, so that every user who may
        # write the database may take the lock.
        if self._fd is None or self._pid != os.getpid():
            try:
                mode = stat.S_IMODE(os.stat(self._database).st_mode)
            except OSError:
                mode = 0o644
            try:
                self._fd = os.open(self._path, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, mode)
            except OSError as exc:  # as SQLite words what stops a write: the caller maps it
                raise sqlite3.OperationalError(
                    f"unable to open the write lock file ({exc.strerror})"
                ) from None
            self._pid = os.getpid()
        return self._fd


_locks: dict[str, _FileLock] = {}
_locks_lock = threading.Lock()


def _lock_for(database: str) -> _FileLock | None:
    """The lock of a database file; None for an in-memory or URI database (one connection's,
    or not a plain path: nothing to share)."""
    if database in ("", ":memory:") or database.startswith("file:"):
        return None
    path = os.path.realpath(database)
    with _locks_lock:
        lock = _locks.get(path)
        if lock is None:
            lock = _locks[path] = _FileLock(path)
        return lock


def held_in_this_process(database: str) -> bool:
    """Whether a connection of this process holds the write lock of `database` (a file path):
    for the tests that check what runs outside a write transaction."""
    lock = _lock_for(database)
    return lock is not None and lock._threads.locked()  # noqa: SLF001 - the module's own lock


def _is_write(sql: str) -> bool:
    head = sql.lstrip()[:16].upper()
    return head.startswith(_WRITES) or head.startswith(_BEGIN_WRITE)


class WriteLockedConnection(sqlite3.Connection):
    """A sqlite3 connection that holds its database's write lock from its first write to the
    end of its transaction. Pass as `factory` to sqlite3.connect (SQLAlchemy: connect_args)."""

    def __init__(self, database: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(database, *args, **kwargs)
        self._timeout = float(kwargs.get("timeout", args[0] if args else 5.0))
        self._write_lock = _lock_for(os.fsdecode(database))
        self._holding = False
        self._shared_cursor: sqlite3.Cursor | None = None

    def cursor(self, factory: Any = None) -> sqlite3.Cursor:
        return super().cursor(factory or _WriteLockedCursor)

    def shared_cursor(self) -> sqlite3.Cursor:
        """One cursor, made once, for statements whose rows are all fetched as soon as they run
        (compliance/storage/direct.py): a cursor made and closed per statement cost about 3% of
        a turn's compliance work, over twenty statements. After any error the caller forgets
        it (forget_shared_cursor) and the next call makes another."""
        cursor = self._shared_cursor
        if cursor is None:
            cursor = self._shared_cursor = self.cursor()
        return cursor

    def forget_shared_cursor(self) -> None:
        self._shared_cursor = None

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._settle()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._settle()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._release()

    def before(self, sql: str) -> None:
        """Take the write lock before the statement that would take SQLite's."""
        if not self._holding and self._write_lock is not None and _is_write(sql):
            self._write_lock.acquire(self._timeout)
            self._holding = True

    def _settle(self) -> None:
        """Release once no transaction is open (a commit, a rollback, an autocommit write)."""
        if self._holding and not self.in_transaction:
            self._release()

    def _release(self) -> None:
        if self._holding:
            self._holding = False
            assert self._write_lock is not None
            self._write_lock.release()


class _WriteLockedCursor(sqlite3.Cursor):
    connection: WriteLockedConnection

    def execute(self, sql: str, parameters: Any = ()) -> sqlite3.Cursor:
        self.connection.before(sql)
        try:
            return super().execute(sql, parameters)
        finally:
            self.connection._settle()  # noqa: SLF001 - the connection's own bookkeeping

    def executemany(self, sql: str, seq_of_parameters: Any) -> sqlite3.Cursor:
        self.connection.before(sql)
        try:
            return super().executemany(sql, seq_of_parameters)
        finally:
            self.connection._settle()  # noqa: SLF001
