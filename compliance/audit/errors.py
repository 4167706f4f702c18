"""Typed errors of the audit log, all under compliance.errors so callers catch one family.

    AuditVerificationError (compliance.errors)   the log or a proof does not verify
    ├── ProofError                                an inclusion or consistency proof is rejected
    ├── CheckpointError                           a checkpoint note cannot be trusted
    │   ├── MalformedCheckpoint                   the note text is not in the expected format
    │   └── BadCheckpointSignature                the Ed25519 signature does not verify
    └── MalformedBundle                           a bundle is unreadable or of another format
    ConfigError (compliance.errors)
    └── PersonalDataRejected                      a field looks like personal data: fix the caller

Messages name the field or the index, never the offending value: it may be personal data.
"""

from __future__ import annotations

from compliance.errors import AuditVerificationError, ConfigError


class ProofError(AuditVerificationError):
    """A Merkle inclusion or consistency proof does not verify (RFC 9162 §2.1.3.2, §2.1.4.2)."""


class CheckpointError(AuditVerificationError):
    """A checkpoint note cannot be trusted."""


class MalformedCheckpoint(CheckpointError):
    """The checkpoint text does not follow the note format."""


class BadCheckpointSignature(CheckpointError):
    """The checkpoint's Ed25519 signature does not verify under the given public key."""


class MalformedBundle(AuditVerificationError):
    """An audit bundle is missing a file, has an unknown format version, or a line is unreadable."""


class PersonalDataRejected(ConfigError):
    """An audit entry field looks like a phone number or free text (design.md invariant 3)."""
