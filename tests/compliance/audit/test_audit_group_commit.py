"""Group commit: concurrent appenders share commits, each gets its own result or its own error,
and the log stays one gapless, verifiable tree (SQLite, and PostgreSQL when its URL is set)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from compliance.audit import AuditLog, NewEntry, verify_database
from compliance.audit.group_commit import GroupCommitter
from compliance.audit.tables import audit_entries

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
