"""Bundles verify offline (directory and tar) and reject tampering; pruning keeps verifiability,
proofs and the CLI work over a pruned log."""

from __future__ import annotations

import json
import shutil
import sys
import types
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from compliance.__main__ import main
from compliance.audit import (
    AuditLog,
    NewEntry,
    export_bundle,
    prove_consistency,
    prove_inclusion,
    prune,
    verify_bundle,
    verify_database,
)
from compliance.audit import checkpoint as cp
from compliance.audit.errors import MalformedBundle, ProofError
from compliance.audit.merkle import verify_consistency, verify_inclusion
from compliance.audit.tables import audit_entries

from .conftest import SEED, StepClock

START = datetime(2015, 1, 1, tzinfo=timezone.utc)


def _filled(engine: Engine, n: int = 50, step: timedelta = timedelta(days=30),
            start: datetime = START) -> AuditLog:
    log = AuditLog(engine, SEED, checkpoint_every=8, checkpoint_seconds=1e9,
                   clock=StepClock(start, step))
    for i in range(n):
        log.append(NewEntry("channel", "delivery_status", None,
                            {"status": "delivered", "turn_seq": i}))
    return log


@pytest.mark.parametrize("name", ["bundle", "bundle.tar.gz"])
def test_bundle_verifies_offline(engine: Engine, tmp_path: Path, name: str) -> None:
    log = _filled(engine, 30)
    assert export_bundle(engine, tmp_path / name, log.public_key) == 30
    report = verify_bundle(tmp_path / name, log.public_key)
    assert report.ok and report.entries == 30, report.summary()
    assert not verify_bundle(tmp_path / name, cp.public_key_of(bytes(range(1, 33)))).ok


def _edit_line(path: Path, index: int, edit) -> None:  # type: ignore[no-untyped-def]
    lines = path.read_text().splitlines(keepends=True)
    lines[index] = edit(lines[index])
    path.write_text("".join(lines))


def test_tampered_bundles_are_rejected(sqlite_engine: Engine, tmp_path: Path) -> None:
    log = _filled(sqlite_engine, 30)
    clean = tmp_path / "clean"
    export_bundle(sqlite_engine, clean, log.public_key)
    cases = {
        "edited": (lambda d: _edit_line(d / "entries.jsonl", 12,
                                        lambda s: s.replace("delivered", "read")), 12),
        "swapped": (lambda d: _swap_lines(d / "entries.jsonl", 3, 4), 3),
        "truncated": (lambda d: _truncate(d / "entries.jsonl", 20), 20),
        "deleted-checkpoint-kept-size": (lambda d: _edit_line(
            d / "checkpoints.jsonl", 2, lambda s: s.replace("\\n16\\n", "\\n17\\n")), 8),
    }
    for label, (tamper, index) in cases.items():
        copy = tmp_path / label
        shutil.copytree(clean, copy)
        tamper(copy)
        report = verify_bundle(copy)
        assert not report.ok, label
        assert report.first_bad_index == index, (label, report.summary())
    broken = tmp_path / "broken"
    shutil.copytree(clean, broken)
    (broken / "manifest.json").write_text('{"format": "other"}')
    with pytest.raises(MalformedBundle):
        verify_bundle(broken)
    (broken / "manifest.json").unlink()
    with pytest.raises(MalformedBundle):
        verify_bundle(broken)


def _truncate(path: Path, keep: int) -> None:
    path.write_text("".join(path.read_text().splitlines(keepends=True)[:keep]))


def _swap_lines(path: Path, a: int, b: int) -> None:
    lines = path.read_text().splitlines(keepends=True)
    lines[a], lines[b] = lines[b], lines[a]
    path.write_text("".join(lines))


def test_pruning_keeps_the_log_verifiable(engine: Engine, tmp_path: Path) -> None:
    log = _filled(engine, 100)  # one entry every 30 days from 2015: ~8 years
    now = START + timedelta(days=30 * 100)
    result = prune(log, 6 * 365, now=now)
    assert result.pruned_before % 8 == 0 and result.pruned_before > 0
    cutoff = now - timedelta(days=6 * 365)
    with engine.connect() as connection:
        oldest, count = connection.execute(
            select(func.min(audit_entries.c.time), func.count())).one()
        kinds = connection.execute(select(audit_entries.c.kind)
                                   .where(audit_entries.c.seq == result.audit_seq)).scalar()
    assert oldest >= "2015" and count == 101 - result.deleted_entries
    assert result.deleted_entries == result.pruned_before
    assert kinds == "retention_run"
    # Entry i was written at START + 30 (i + 1) days: everything deleted was past retention,
    # and the next checkpoint boundary would have deleted an entry still within it.
    first_recent = next(i for i in range(100) if START + timedelta(days=30 * (i + 1)) >= cutoff)
    assert result.pruned_before <= first_recent < result.pruned_before + 8
    report = verify_database(engine, log.public_key)
    assert report.ok, report.summary()
    assert report.entries == 101 - result.pruned_before
    log.append(NewEntry("cli", "operator_command", None, {"command": "audit_verify"}))
    log.checkpoint_now()
    size = report.size + 1
    proof = prove_inclusion(engine, result.pruned_before + 3, size)
    verify_inclusion(proof.seq, proof.size, proof.leaf_hash, proof.proof, proof.root)
    c = prove_consistency(engine, result.pruned_before, size)
    verify_consistency(c.size1, c.size2, c.root1, c.root2, c.proof)
    with pytest.raises(ProofError):
        prove_inclusion(engine, 0, size)
    export_bundle(engine, tmp_path / "pruned", log.public_key)
    assert verify_bundle(tmp_path / "pruned").ok
    again = prune(log, 6 * 365, now=now)
    assert again.deleted_entries == 0 and verify_database(engine, log.public_key).ok


def test_proofs_against_every_checkpoint(sqlite_engine: Engine) -> None:
    _filled(sqlite_engine, 27)
    for seq in (0, 5, 15, 23):
        p = prove_inclusion(sqlite_engine, seq)
        assert p.size == 24
        verify_inclusion(p.seq, p.size, p.leaf_hash, p.proof, p.root)
    for a, b in ((1, 8), (8, 16), (8, 24), (16, 24), (24, 24)):
        c = prove_consistency(sqlite_engine, a, b)
        verify_consistency(c.size1, c.size2, c.root1, c.root2, c.proof)


@pytest.fixture
def cli_env(db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The CLI against the test database, with a stand-in keyring (compliance.keys is owned
    elsewhere; only the attribute names are the contract)."""
    monkeypatch.setenv("SIGILLO_DATABASE_URL", db_url)
    fake = types.ModuleType("compliance.keys")
    fake.load_keyring = lambda *a, **k: types.SimpleNamespace(  # type: ignore[attr-defined]
        audit_signing_key=SEED, pseudonym_key=bytes(32))
    monkeypatch.setitem(sys.modules, "compliance.keys", fake)
    return db_url


def test_cli_round_trip(cli_env: str, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from compliance.storage import create_engine_from_url

    engine = create_engine_from_url(cli_env)
    # One entry every 200 days up to today: entries 0-8 are older than six years.
    _filled(engine, 20, step=timedelta(days=200),
            start=datetime.now(timezone.utc) - timedelta(days=4000))
    assert main(["audit", "checkpoint"]) == 0
    assert capsys.readouterr().out.startswith("checkpoint at size 20, root ")
    assert main(["audit", "verify"]) == 0
    assert capsys.readouterr().out.startswith("verified 20 entries, 4 checkpoints, root ")
    assert main(["audit", "prove", "--seq", "3"]) == 0
    proof = json.loads(capsys.readouterr().out)
    assert proof["tree_size"] == 20 and proof["seq"] == 3
    assert main(["audit", "consistency", "--from", "8", "--to", "16"]) == 0
    assert json.loads(capsys.readouterr().out)["size2"] == 16
    assert main(["audit", "export", "--out", str(tmp_path / "b.tar")]) == 0
    capsys.readouterr()
    assert main(["audit", "verify", "--bundle", str(tmp_path / "b.tar")]) == 0
    assert "verified 21 entries" in capsys.readouterr().out
    assert main(["audit", "prune", "--older-than-days", "2190"]) == 0
    assert "pruned 8 entries" in capsys.readouterr().out
    assert main(["audit", "verify"]) == 0
    capsys.readouterr()
    with engine.begin() as connection:
        connection.execute(audit_entries.update().where(audit_entries.c.seq == 17)
                           .values(kind="erasure"))
    assert main(["audit", "verify"]) == 1
    assert capsys.readouterr().err.strip() == (
        "first disagreement at entry 17: entry does not match its leaf hash")
    assert main(["audit", "prove", "--seq", "999"]) == 2
    engine.dispose()
