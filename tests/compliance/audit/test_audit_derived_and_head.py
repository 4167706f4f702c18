"""append_derived (a change and the entries it derives commit together or not at all) and the
parsed head kept between appends (another writer's append, a checkpoint or a failed commit in
between never forks the log). SQLite, and PostgreSQL when its URL is set."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, event, func, insert, select
from sqlalchemy.engine import Connection, Engine

from compliance.audit import AuditLog, NewEntry, verify_database
from compliance.audit.tables import audit_entries
from compliance.storage.sqlite_write_lock import held_in_this_process

from .conftest import SEED, StepClock

# A scratch table standing for the state a change writes (a tracker's events, a window).
_scratch_metadata = MetaData()
scratch = Table("audit_test_scratch", _scratch_metadata, Column("n", Integer, primary_key=True))


@pytest.fixture
def scratch_engine(engine: Engine) -> Engine:
    _scratch_metadata.create_all(engine)
    return engine


def _entry(n: int) -> NewEntry:
    return NewEntry("rasa", "bot_action", None, {"action": "utter_greet", "turn_seq": n})


def _count(engine: Engine, table: Table) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(table)).scalar_one()


def _writes(*ns: int):  # type: ignore[no-untyped-def]
    """A change that writes rows `ns` and derives one entry per row."""

    def change(connection: Connection) -> list[NewEntry]:
        for n in ns:
            connection.execute(insert(scratch).values(n=n))
        return [_entry(n) for n in ns]

    return change


def test_derived_entries_commit_with_the_change(scratch_engine: Engine) -> None:
    log = AuditLog(scratch_engine, SEED)
    assert log.append_derived(_writes(1, 2)) == [0, 1]
    assert _count(scratch_engine, scratch) == 2
    assert verify_database(scratch_engine, log.public_key).ok
    log.close()


def test_no_derived_entries_commits_the_change_alone(scratch_engine: Engine) -> None:
    log = AuditLog(scratch_engine, SEED)
    assert log.append_derived(_writes()) == []

    def write_only(connection: Connection) -> list[NewEntry]:
        connection.execute(insert(scratch).values(n=7))
        return []

    assert log.append_derived(write_only) == []
    assert _count(scratch_engine, scratch) == 1
    assert _count(scratch_engine, audit_entries) == 0
    log.close()


@pytest.mark.parametrize(
    "failure",
    ["change_raises_after_writing", "entry_rejected", "append_fails_after_the_change"],
)
def test_a_failure_after_the_change_leaves_neither(
    scratch_engine: Engine, monkeypatch: pytest.MonkeyPatch, failure: str
) -> None:
    log = AuditLog(scratch_engine, SEED)

    def change(connection: Connection) -> list:
        connection.execute(insert(scratch).values(n=1))
        if failure == "change_raises_after_writing":
            raise RuntimeError("the change failed half-way")
        if failure == "entry_rejected":
            return [{"component": "rasa", "kind": "bot_action", "subject": "+393331234567"}]
        return [_entry(1)]

    if failure == "append_fails_after_the_change":

        def broken(*_args, **_kwargs):  # type: ignore[no-untyped-def]
            raise RuntimeError("the append failed after the change ran")

        monkeypatch.setattr(log, "append_locked", broken)
    with pytest.raises(Exception):  # noqa: B017 - each failure raises its own type
        log.append_derived(change)
    assert _count(scratch_engine, scratch) == 0
    assert _count(scratch_engine, audit_entries) == 0
    monkeypatch.undo()
    assert log.append_derived(_writes(2)) == [0]  # the log goes on from where it was
    assert verify_database(scratch_engine, log.public_key).ok
    log.close()


def test_a_failing_derived_change_in_a_batch_fails_alone(scratch_engine: Engine) -> None:
    log = AuditLog(scratch_engine, SEED)
    barrier = threading.Barrier(6)

    def writer(n: int) -> object:
        def change(connection: Connection) -> list[NewEntry]:
            if n == 3:
                raise RuntimeError("a broken change")
            return _writes(n)(connection)

        barrier.wait()
        try:
            return log.append_derived(change)
        except RuntimeError as exc:
            return exc

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(writer, range(6)))
    assert isinstance(results[3], RuntimeError)
    assert sorted(s for i, r in enumerate(results) if i != 3 for s in r) == list(range(5))
    with scratch_engine.connect() as connection:
        assert sorted(connection.execute(select(scratch.c.n)).scalars()) == [0, 1, 2, 4, 5]
    assert verify_database(scratch_engine, log.public_key).ok
    log.close()


# --- the parsed head kept between appends -----------------------------------------------------


def _log(engine: Engine, **kw) -> AuditLog:  # type: ignore[no-untyped-def]
    kw.setdefault("checkpoint_every", 4)
    kw.setdefault("clock", StepClock(step=timedelta(milliseconds=1)))
    return AuditLog(engine, SEED, **kw)


@pytest.mark.parametrize(
    "between",
    ["another_writer_appends", "another_writer_checkpoints", "nothing"],
)
def test_a_kept_head_never_forks_the_log(engine: Engine, between: str) -> None:
    ours, theirs = _log(engine), _log(engine)  # two processes' writers
    for round_ in range(6):
        assert ours.append(_entry(round_)) >= round_
        if between == "another_writer_appends":
            theirs.append_many([_entry(100 + round_), _entry(200 + round_)])
        elif between == "another_writer_checkpoints":
            theirs.checkpoint_now()
    report = verify_database(engine, ours.public_key)
    assert report.ok, report.summary()
    with engine.connect() as connection:
        seqs = list(connection.execute(select(audit_entries.c.seq).order_by("seq")).scalars())
    assert seqs == list(range(len(seqs)))
    ours.close()
    theirs.close()


def test_a_failed_commit_does_not_leave_a_kept_head_ahead_of_the_database(engine: Engine) -> None:
    log = _log(engine)
    log.append(_entry(0))
    fail = {"armed": True}

    def refuse_commit(_connection) -> None:  # type: ignore[no-untyped-def]
        if fail.pop("armed", False):
            raise RuntimeError("commit refused")

    event.listen(log._writer, "commit", refuse_commit)  # noqa: SLF001 - the writer's commit
    with pytest.raises(RuntimeError):
        log.append(_entry(1))
    assert log.append(_entry(2)) == 1  # the seq the failed append did not take
    assert verify_database(engine, log.public_key).ok
    log.close()


# --- the connection the group commit's batches keep (SQLite) ----------------------------------


def _writer_checkouts(log: AuditLog) -> list[object]:
    """One item per connection the log's writer checks out from now on."""
    checkouts: list[object] = []
    event.listen(log._writer.pool, "checkout", lambda *_: checkouts.append(1))  # noqa: SLF001
    return checkouts


def test_appends_keep_one_connection_and_no_lock_between_them(sqlite_engine: Engine) -> None:
    log = _log(sqlite_engine)
    checkouts = _writer_checkouts(log)
    for n in range(5):
        log.append(_entry(n))
        # Committed: SQLite's write lock is free for the other processes between appends.
        assert not held_in_this_process(sqlite_engine.url.database)
    assert len(checkouts) == 1
    log.close()


def test_durable_and_relaxed_appends_keep_a_connection_each_and_switch_no_level(
    sqlite_engine: Engine,
) -> None:
    """A turn mixes durable and relaxed appends: each kind keeps its own connection at its own
    synchronous level, so no PRAGMA switches the level back and forth."""
    log = _log(sqlite_engine)
    checkouts = _writer_checkouts(log)
    statements: list[str] = []
    event.listen(  # noqa: SLF001 - the writer's own connections, as they are opened
        log._writer, "connect", lambda dbapi, _record: dbapi.set_trace_callback(statements.append)
    )
    for n in range(6):
        log.append_derived(lambda _connection, n=n: [_entry(n)], durable=n % 2 == 0)
    pragmas = [s for s in statements if s.upper().startswith("PRAGMA SYNCHRONOUS")]
    assert len(checkouts) == 2
    assert pragmas == ["PRAGMA synchronous=FULL", "PRAGMA synchronous=NORMAL"]
    assert verify_database(sqlite_engine, log.public_key).ok
    log.close()


def test_a_failed_batch_gives_up_its_connection(sqlite_engine: Engine) -> None:
    log = _log(sqlite_engine)
    checkouts = _writer_checkouts(log)
    log.append(_entry(0))

    def broken(_connection: Connection) -> list[NewEntry]:
        raise RuntimeError("a broken change")

    with pytest.raises(RuntimeError):
        log.append_derived(broken)
    assert log.append(_entry(1)) == 1
    assert len(checkouts) == 2  # a fresh connection after the failure
    assert verify_database(sqlite_engine, log.public_key).ok
    log.close()
