"""Tamper-evident audit log of every turn (design.md invariant 3): RFC 9162 Merkle tree,
Ed25519-signed checkpoints, streaming verification, offline bundles and verifiable pruning.

Writers: `AuditLog(engine, keyring.audit_signing_key).append(NewEntry(...))`, with content and
message ids passed through `keyed_hash(keyring.pseudonym_key, value)`.
"""

from compliance.audit.bundle import export_bundle, verify_bundle
from compliance.audit.checkpoint import Checkpoint, SignedCheckpoint
from compliance.audit.entries import COMPONENTS, KINDS, AuditEntry, NewEntry, keyed_hash
from compliance.audit.errors import (
    BadCheckpointSignature,
    CheckpointError,
    MalformedBundle,
    MalformedCheckpoint,
    PersonalDataRejected,
    ProofError,
)
from compliance.audit.log import AuditLog
from compliance.audit.pruning import DEFAULT_RETENTION_DAYS, PruneResult, prune
from compliance.audit.reader import prove_consistency, prove_inclusion, verify_database
from compliance.audit.verify import VerifyReport, verify_log

__all__ = [
    "COMPONENTS",
    "DEFAULT_RETENTION_DAYS",
    "KINDS",
    "AuditEntry",
    "AuditLog",
    "BadCheckpointSignature",
    "Checkpoint",
    "CheckpointError",
    "MalformedBundle",
    "MalformedCheckpoint",
    "NewEntry",
    "PersonalDataRejected",
    "ProofError",
    "PruneResult",
    "SignedCheckpoint",
    "VerifyReport",
    "export_bundle",
    "keyed_hash",
    "prove_consistency",
    "prove_inclusion",
    "prune",
    "verify_bundle",
    "verify_database",
    "verify_log",
]
