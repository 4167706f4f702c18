"""Typed errors of the compliance layer, classified by what the caller does next.

    ComplianceError                 anything this package raises on purpose
    ├── ConfigError                 bad setting or input: the message names the field; fix and retry
    ├── KeyringError                the key file is missing, unreadable or malformed: stop start-up
    ├── DecryptionError             a ciphertext cannot be opened: never garbage, never a retry loop
    │   ├── UnknownKeyVersion       sealed under a key version this keyring does not hold
    │   ├── IntegrityFailure        tampered data or the wrong key
    │   └── SubjectErased           the subject's data key was destroyed (crypto-shredded)
    ├── AuditVerificationError      the audit log and its checkpoints disagree (first_bad_index)
    ├── ConsentError                a consent transition that the state machine does not allow
    └── StorageUnavailable          the database did not answer: 503, nothing half-written

Messages never contain key material, plaintext, ciphertext, phone numbers or message texts.
"""

from __future__ import annotations


class ComplianceError(Exception):
    """Base class of every error the compliance layer raises on purpose."""


class ConfigError(ComplianceError):
    """A setting or an input is invalid; the message names the field and the rule."""


class KeyringError(ComplianceError):
    """The keyring cannot be loaded: missing, unreadable or malformed key file or variables."""


class DecryptionError(ComplianceError):
    """A ciphertext could not be opened."""


class UnknownKeyVersion(DecryptionError):
    """The ciphertext names a key version that the keyring does not hold."""


class IntegrityFailure(DecryptionError):
    """Authentication failed: the data was altered or the key is wrong."""


class SubjectErased(DecryptionError):
    """The subject's data key no longer exists (erasure by crypto-shredding)."""


class AuditVerificationError(ComplianceError):
    """The audit log does not verify; first_bad_index is the first entry that disagrees."""

    def __init__(self, message: str, first_bad_index: int | None = None) -> None:
        super().__init__(message)
        self.first_bad_index = first_bad_index


class ConsentError(ComplianceError):
    """A consent change that the consent state machine does not allow."""


class StorageUnavailable(ComplianceError):
    """The compliance database did not answer; nothing was written."""
