"""Group commit: concurrent appenders share commits, each gets its own result or its own error,
and the log stays one gapless, verifiable tree (SQLite, and PostgreSQL when its URL is set)."""

from __future__ import annotations

import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from compliance.audit import AuditLog, NewEntry, verify_database
from compliance.audit.tables import audit_entries
from compliance.errors import StorageUnavailable
from compliance.storage.group_commit import GroupCommitter, is_lock_timeout

SEED = bytes(range(32))


class SlowBatches:
    """A run_batch that takes a while, so that submitters pile up behind the leader."""

    def __init__(self, fail_on: set[int] | None = None, fail_all: bool = False) -> None:
        self.fail_on = fail_on or set()
        self.fail_all = fail_all
        self.calls: list[list[int]] = []

    def __call__(self, items: list[int]) -> list[int]:
        self.calls.append(list(items))
        time.sleep(0.01)
        if self.fail_all:
            raise ConnectionError("database down")
        if self.fail_on.intersection(items):
            raise ValueError(f"bad item in {items}")
        return [item * 10 for item in items]


def submit_all(committer: GroupCommitter, items: list[int]) -> dict[int, object]:
    start = threading.Barrier(len(items))

    def one(item: int) -> object:
        start.wait()
        try:
            return committer.submit(item)
        except Exception as exc:  # noqa: BLE001 - the test inspects it
            return exc

    with ThreadPoolExecutor(len(items)) as pool:
        return dict(zip(items, pool.map(one, items), strict=True))


def test_concurrent_items_share_batches_and_each_gets_its_own_result() -> None:
    run = SlowBatches()
    committer = GroupCommitter(run)
    results = submit_all(committer, list(range(16)))
    assert results == {i: i * 10 for i in range(16)}
    assert committer.items == 16
    assert committer.batches < 16  # at least one commit served several appenders
    assert sorted(i for call in run.calls for i in call) == list(range(16))


def test_a_failing_item_fails_alone_and_its_neighbours_land() -> None:
    committer = GroupCommitter(SlowBatches(fail_on={7}))
    results = submit_all(committer, list(range(12)))
    assert isinstance(results[7], ValueError)
    assert {i: r for i, r in results.items() if i != 7} == {i: i * 10 for i in range(12) if i != 7}


def test_a_database_outage_reaches_every_appender() -> None:
    committer = GroupCommitter(SlowBatches(fail_all=True))
    results = submit_all(committer, list(range(8)))
    assert all(isinstance(r, ConnectionError) for r in results.values())


def test_a_lone_appender_commits_alone() -> None:
    run = SlowBatches()
    committer = GroupCommitter(run)
    assert [committer.submit(i) for i in range(3)] == [0, 10, 20]
    assert run.calls == [[0], [1], [2]]


def test_threads_appending_at_once_keep_one_gapless_verifiable_log(engine: Engine) -> None:
    log = AuditLog(engine, SEED, checkpoint_every=16, checkpoint_seconds=0.05)
    threads, per_thread = 8, 40

    def writer(t: int) -> list[int]:
        seqs = []
        for i in range(per_thread):
            entry = NewEntry("channel", "delivery_status", None, {"t": t, "i": i})
            if i % 5 == 4:  # a change that declines (a status seen before) appends nothing
                assert log.append_with(lambda _conn: False, [entry]) == []
            else:
                seqs.extend(log.append_with(lambda _conn: True, [entry]))
        return seqs

    with ThreadPoolExecutor(threads) as pool:
        seqs = [s for result in pool.map(writer, range(threads)) for s in result]
    expected = threads * per_thread * 4 // 5
    assert sorted(seqs) == list(range(expected))  # every caller got its own seq, no gaps
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(audit_entries)).scalar() == (
            expected
        )
    report = verify_database(engine, log.public_key)
    assert report.ok, report.summary()
    log.close()


def test_a_change_that_raises_rolls_back_only_its_own_append(engine: Engine) -> None:
    log = AuditLog(engine, SEED)
    barrier = threading.Barrier(6)

    def change(bad: bool):  # noqa: ANN202
        def run(_conn) -> bool:  # noqa: ANN001
            if bad:
                raise RuntimeError("a broken change")
            return True

        return run

    def writer(n: int) -> object:
        barrier.wait()
        try:
            return log.append_with(
                change(n == 3), [NewEntry("channel", "inbound_message", None, {"n": n})]
            )
        except RuntimeError as exc:
            return exc

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(writer, range(6)))
    assert isinstance(results[3], RuntimeError)
    assert sorted(s for i, r in enumerate(results) if i != 3 for s in r) == list(range(5))
    assert verify_database(engine, log.public_key).ok
    log.close()


@pytest.mark.parametrize("size", [1, 3])
def test_append_many_is_still_all_or_nothing_per_call(engine: Engine, size: int) -> None:
    log = AuditLog(engine, SEED)
    entries = [NewEntry("cli", "operator_command", None, {"k": k}) for k in range(size)]
    assert log.append_many(entries) == list(range(size))
    log.close()


# --- a batch that never got the write lock fails together, without a wait per item ----------


class _PgError(Exception):
    """What psycopg2 raises, as far as the classification reads it: a SQLSTATE in pgcode."""

    def __init__(self, pgcode: str) -> None:
        super().__init__("an error")
        self.pgcode = pgcode


def _guarded(error: Exception) -> Exception:
    """`error` as the audit log raises it: SQLAlchemy's wrapper, then the storage guard's
    StorageUnavailable raised `from None` (the driver's error is only its __context__)."""
    try:
        try:
            raise OperationalError("BEGIN IMMEDIATE", {}, error)
        except OperationalError:
            raise StorageUnavailable("the compliance database did not answer") from None
    except StorageUnavailable as exc:
        return exc


@pytest.mark.parametrize(
    "error,lock_timeout",
    [
        (sqlite3.OperationalError("database is locked"), True),
        (sqlite3.OperationalError("database table is locked"), True),
        (_guarded(sqlite3.OperationalError("database is locked")), True),
        (_PgError("55P03"), True),
        (_guarded(_PgError("55P03")), True),
        (sqlite3.OperationalError("no such table: audit_head"), False),
        (_guarded(sqlite3.OperationalError("no such table: audit_head")), False),
        (_PgError("23505"), False),
        (ValueError("database is locked"), False),
        (ConnectionError("database down"), False),
    ],
    ids=[
        "sqlite_busy",
        "sqlite_table_locked",
        "sqlite_busy_through_the_guard",
        "pg_lock_not_available",
        "pg_lock_not_available_through_the_guard",
        "sqlite_no_such_table",
        "sqlite_no_such_table_through_the_guard",
        "pg_unique_violation",
        "not_a_driver_error",
        "outage",
    ],
)
def test_which_failures_are_lock_timeouts(error: Exception, lock_timeout: bool) -> None:
    assert is_lock_timeout(error) is lock_timeout


class LockedBatches(SlowBatches):
    """A run_batch whose every call waits out a busy timeout and fails for want of the lock."""

    def __call__(self, items: list[int]) -> list[int]:
        self.calls.append(list(items))
        time.sleep(0.05)
        raise _guarded(sqlite3.OperationalError("database is locked"))


def test_a_locked_batch_fails_every_item_at_once_not_once_per_item() -> None:
    run = LockedBatches()
    committer = GroupCommitter(run)
    results = submit_all(committer, list(range(8)))
    assert all(isinstance(r, StorageUnavailable) for r in results.values())
    assert len(run.calls) == committer.batches  # one wait per batch, no retry per item
    assert sorted(i for call in run.calls for i in call) == list(range(8))


def _hold_the_write_lock(engine: Engine, db_url: str):  # noqa: ANN202
    """Another connection holding the audit log's write lock: SQLite's database-wide lock
    (BEGIN IMMEDIATE), PostgreSQL's lock on the audit_head row."""
    if engine.dialect.name == "sqlite":
        holder = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        return lambda: (holder.execute("ROLLBACK"), holder.close())
    connection = engine.connect()
    transaction = connection.begin()
    connection.execute(sa.text("SELECT size FROM audit_head FOR UPDATE"))
    return lambda: (transaction.rollback(), connection.close())


@pytest.fixture
def short_lock_wait_engine(db_url: str, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    """The log's engine with a lock wait of 0.3 s instead of a minute (SQLite's busy timeout of
    the log's private writer; PostgreSQL's lock_timeout)."""
    from compliance.storage import create_engine_from_url

    if db_url.startswith("sqlite"):
        monkeypatch.setattr("compliance.audit.log._SQLITE_BUSY_SECONDS", 0.3)
        engine = create_engine_from_url(db_url)
    else:
        engine = sa.create_engine(
            db_url, future=True, connect_args={"options": "-c lock_timeout=300"}
        )
    yield engine
    engine.dispose()


def test_appenders_queued_behind_a_lock_held_elsewhere_wait_once_per_batch(
    short_lock_wait_engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = short_lock_wait_engine
    batches: list[int] = []
    append_batch = AuditLog._append_batch

    def counted(self: AuditLog, requests: list) -> list[list[int]]:  # noqa: ANN001
        batches.append(len(requests))
        return append_batch(self, requests)

    monkeypatch.setattr(AuditLog, "_append_batch", counted)
    log = AuditLog(engine, SEED)
    release = _hold_the_write_lock(engine, db_url)
    appenders = 6
    barrier = threading.Barrier(appenders)

    def append(n: int) -> object:
        barrier.wait()
        try:
            return log.append(NewEntry("channel", "delivery_status", None, {"n": n}))
        except StorageUnavailable as exc:
            return exc

    try:
        with ThreadPoolExecutor(appenders) as pool:
            results = list(pool.map(append, range(appenders)))
    finally:
        release()
    assert all(isinstance(r, StorageUnavailable) for r in results)
    assert sum(batches) == appenders  # each append waited for the lock in one batch, once
    assert log.append(NewEntry("channel", "delivery_status", None, {"n": 99})) == 0
    assert verify_database(engine, log.public_key).ok
    log.close()
