"""The audit package's public surface is pinned, and it never imports cryptography.hazmat."""

from __future__ import annotations

from pathlib import Path

import compliance.audit

EXPECTED = {
    "COMPONENTS", "DEFAULT_RETENTION_DAYS", "KINDS", "AuditEntry", "AuditLog",
    "BadCheckpointSignature", "Checkpoint", "CheckpointError", "MalformedBundle",
    "MalformedCheckpoint", "NewEntry", "PersonalDataRejected", "ProofError", "PruneResult",
    "SignedCheckpoint", "VerifyReport", "export_bundle", "keyed_hash", "prove_consistency",
    "prove_inclusion", "prune", "verify_bundle", "verify_database", "verify_log",
}


def test_exported_names() -> None:
    assert set(compliance.audit.__all__) == EXPECTED
    for name in EXPECTED:
        assert getattr(compliance.audit, name) is not None


def test_no_hazmat_imports() -> None:
    package = Path(compliance.audit.__file__).parent
    for source in package.glob("*.py"):
        assert "hazmat" not in source.read_text(), source.name
