"""AuditLog on SQLite and PostgreSQL: append, checkpoints, verification, and every tampering
caught at the right first index."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.engine import Engine

from compliance.audit import AuditLog, NewEntry, verify_database
from compliance.audit import checkpoint as cp
from compliance.audit.errors import PersonalDataRejected
from compliance.audit.tables import audit_checkpoints, audit_entries
from compliance.errors import AuditVerificationError, ConfigError, StorageUnavailable
from compliance.storage import create_engine_from_url

from .conftest import SEED, StepClock

PSEUDONYM = "p1:" + "0f" * 32


def _entry(i: int) -> NewEntry:
    return NewEntry("rasa", "bot_action", PSEUDONYM, {"action": "utter_greet", "turn_seq": i})


def _log(engine: Engine, **kw) -> AuditLog:  # type: ignore[no-untyped-def]
    kw.setdefault("checkpoint_every", 8)
    kw.setdefault("clock", StepClock(step=timedelta(milliseconds=1)))
    return AuditLog(engine, SEED, **kw)


def _filled(engine: Engine, n: int = 40) -> AuditLog:
    log = _log(engine)
    for i in range(0, n, 5):
        log.append_many([_entry(j) for j in range(i, min(i + 5, n))])
    return log


def test_append_is_gapless_and_verifies(engine: Engine) -> None:
    log = _log(engine)
    assert log.append(_entry(0)) == 0
    assert log.append_many([_entry(i) for i in range(1, 20)]) == list(range(1, 20))
    assert log.append({"component": "cli", "kind": "operator_command",
                       "attributes": {"command": "keys_rotate"}}) == 20
    report = verify_database(engine, log.public_key, origin="sigillo")
    assert report.ok, report.summary()
    assert (report.entries, report.size) == (21, 21)
    with engine.connect() as connection:
        sizes = connection.execute(select(audit_checkpoints.c.size)).scalars().all()
    assert sorted(sizes) == [1, 8, 16]  # first append is due by time; then every 8
    assert report.unsigned_tail == 5
    assert log.checkpoint_now().checkpoint.size == 21
    assert log.checkpoint_now().checkpoint.size == 21  # idempotent at one size
    assert verify_database(engine, log.public_key).unsigned_tail == 0


def test_checkpoint_after_seconds(engine: Engine) -> None:
    log = _log(engine, checkpoint_every=1000, checkpoint_seconds=10,
               clock=StepClock(step=timedelta(seconds=4)))
    for i in range(7):
        log.append(_entry(i))
    with engine.connect() as connection:
        sizes = sorted(connection.execute(select(audit_checkpoints.c.size)).scalars())
    assert sizes == [1, 4, 7]  # appends 4 s apart: a checkpoint is due again 12 s later


def test_nothing_written_when_one_entry_is_bad(engine: Engine) -> None:
    log = _log(engine)
    with pytest.raises(PersonalDataRejected):
        log.append_many([_entry(0), {"component": "channel", "kind": "inbound_message",
                                     "attributes": {"from": "+393471234567"}}])
    with engine.connect() as connection:
        assert connection.execute(select(audit_entries)).first() is None


def test_rejects_bad_configuration(engine: Engine) -> None:
    with pytest.raises(ConfigError, match="signing_seed"):
        AuditLog(engine, b"short")
    with pytest.raises(ConfigError, match="checkpoint_every"):
        AuditLog(engine, SEED, checkpoint_every=0)
    with pytest.raises(ConfigError, match="origin"):
        AuditLog(engine, SEED, origin="two words")
    assert "seed" not in repr(AuditLog(engine, SEED)).lower() or SEED.hex() not in repr(engine)


def test_database_down_is_storage_unavailable(tmp_path) -> None:  # type: ignore[no-untyped-def]
    broken = create_engine_from_url(
        "postgresql+psycopg2://postgres@127.0.0.1:1/none?connect_timeout=1")
    with pytest.raises(StorageUnavailable):
        AuditLog(broken, SEED).append(_entry(0))
    missing_dir = create_engine_from_url(f"sqlite:///{tmp_path}/no/such/dir/audit.db")
    with pytest.raises(StorageUnavailable):
        AuditLog(missing_dir, SEED).append(_entry(0))


# --- tampering: each caught, with the first bad index ------------------------------------------

def _edit_attributes(engine: Engine) -> int:
    with engine.begin() as c:
        c.execute(update(audit_entries).where(audit_entries.c.seq == 13)
                  .values(attributes='{"action":"utter_goodbye","turn_seq":13}'))
    return 13


def _edit_and_rehash(engine: Engine) -> int:
    from compliance.audit.entries import leaf_data
    from compliance.audit.merkle import hash_leaf

    with engine.begin() as c:
        row = c.execute(select(audit_entries).where(audit_entries.c.seq == 13)).one()
        attrs = '{"action":"utter_goodbye","turn_seq":13}'
        leaf = hash_leaf(leaf_data(13, row.time, row.component, row.kind, row.subject, attrs))
        c.execute(update(audit_entries).where(audit_entries.c.seq == 13)
                  .values(attributes=attrs, leaf_hash=leaf.hex()))
    return 8  # the root at checkpoint 16 differs; entries up to checkpoint 8 still verify


def _delete_entry(engine: Engine) -> int:
    with engine.begin() as c:
        c.execute(delete(audit_entries).where(audit_entries.c.seq == 21))
    return 21


def _reorder(engine: Engine) -> int:
    with engine.begin() as c:
        rows = {r.seq: r for r in c.execute(select(audit_entries)
                                            .where(audit_entries.c.seq.in_([5, 6])))}
        for seq, other in ((5, 6), (6, 5)):
            src = rows[other]
            c.execute(update(audit_entries).where(audit_entries.c.seq == seq).values(
                time=src.time, attributes=src.attributes, leaf_hash=src.leaf_hash))
    return 5


def _truncate(engine: Engine) -> int:
    with engine.begin() as c:
        c.execute(delete(audit_entries).where(audit_entries.c.seq >= 30))
    return 30


def _forge_checkpoint(engine: Engine) -> int:
    other_seed = bytes(range(1, 33))
    with engine.begin() as c:
        row = c.execute(select(audit_checkpoints).where(audit_checkpoints.c.size == 24)).one()
        checkpoint = cp.parse_body(row.note.partition("\n\n")[0] + "\n")
        forged = cp.sign(checkpoint, other_seed).note(cp.public_key_of(SEED))
        c.execute(update(audit_checkpoints).where(audit_checkpoints.c.size == 24)
                  .values(note=forged))
    return 16


def _rewrite_root(engine: Engine) -> int:
    with engine.begin() as c:
        row = c.execute(select(audit_checkpoints).where(audit_checkpoints.c.size == 32)).one()
        c.execute(update(audit_checkpoints).where(audit_checkpoints.c.size == 32)
                  .values(note=row.note.replace("\n32\n", "\n31\n", 1)))
    return 24


TAMPERING = [
    ("edited-entry", _edit_attributes, "leaf hash"),
    ("edited-entry-rehashed", _edit_and_rehash, "root at checkpoint 16"),
    ("deleted-entry", _delete_entry, "missing"),
    ("reordered-entries", _reorder, "leaf hash"),
    ("truncated-log", _truncate, "log ends at 30"),
    ("forged-checkpoint", _forge_checkpoint, "signature"),
    ("altered-checkpoint-size", _rewrite_root, "signature"),
]


@pytest.mark.parametrize(("tamper", "reason"), [(t, r) for _, t, r in TAMPERING],
                         ids=[label for label, _, _ in TAMPERING])
def test_tampering_is_caught_at_first_index(engine: Engine, tamper, reason: str) -> None:  # type: ignore[no-untyped-def]
    log = _filled(engine, 40)
    assert verify_database(engine, log.public_key).ok
    expected_index = tamper(engine)
    report = verify_database(engine, log.public_key)
    assert not report.ok
    assert report.first_bad_index == expected_index, report.summary()
    assert reason in report.reason
    with pytest.raises(AuditVerificationError) as caught:
        report.raise_for_failure()
    assert caught.value.first_bad_index == expected_index


def test_wrong_public_key_fails_at_zero(engine: Engine) -> None:
    _filled(engine, 10)
    report = verify_database(engine, cp.public_key_of(bytes(range(1, 33))))
    assert not report.ok and report.first_bad_index == 0
