"""Four OS processes append at once to one database: exactly 800 gapless entries, one tree."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from compliance.audit import AuditLog, NewEntry, verify_database
from compliance.audit.tables import audit_entries

SEED = bytes(range(32))
WRITERS, PER_WRITER = 4, 200


def _writer(url: str, writer: int) -> None:
    from compliance.storage import create_engine_from_url

    engine = create_engine_from_url(url)
    log = AuditLog(engine, SEED, checkpoint_every=16, checkpoint_seconds=0.05)
    for i in range(PER_WRITER):
        entry = NewEntry("channel" if writer % 2 else "action_server", "bot_action", None,
                         {"writer": f"w{writer}", "turn_seq": i})
        if i % 10 == 9:
            log.append_many([entry, entry])  # batches interleave with single appends
        elif i % 10 != 8:
            log.append(entry)
    engine.dispose()


def test_four_processes_never_fork_the_log(db_url: str, engine: Engine,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    # Spawned children import this module by name; make its package root importable there.
    monkeypatch.syspath_prepend(str(Path(__file__).parents[1]))
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_writer, args=(db_url, w)) for w in range(WRITERS)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=300)
        assert process.exitcode == 0
    with engine.connect() as connection:
        count, low, high = connection.execute(
            select(func.count(), func.min(audit_entries.c.seq), func.max(audit_entries.c.seq))
        ).one()
    assert (count, low, high) == (WRITERS * PER_WRITER, 0, WRITERS * PER_WRITER - 1)
    report = verify_database(engine, AuditLog(engine, SEED).public_key)
    assert report.ok, report.summary()
    assert report.checkpoints >= WRITERS * PER_WRITER // 16
