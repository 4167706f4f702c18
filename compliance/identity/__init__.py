"""Identity: normalization, pseudonyms, per-subject data keys, the identity vault, erasure."""

from compliance.identity.linking import Member, choose_canonical, contact_of
from compliance.identity.normalize import BSUID, PHONE, normalize_identifier
from compliance.identity.pseudonym import PSEUDONYM_LEN, is_pseudonym, pseudonymize
from compliance.identity.rotation import (
    RotationReport,
    complete_erasure,
    rewrap_to_active,
    rotate_kek,
)
from compliance.identity.subject_keys import DataKey, SubjectKeyStore, UnknownSubject
from compliance.identity.vault import IDENTIFIER_FIELD, IdentityVault

__all__ = [
    "BSUID",
    "IDENTIFIER_FIELD",
    "PHONE",
    "PSEUDONYM_LEN",
    "DataKey",
    "IdentityVault",
    "Member",
    "RotationReport",
    "SubjectKeyStore",
    "UnknownSubject",
    "choose_canonical",
    "complete_erasure",
    "contact_of",
    "is_pseudonym",
    "normalize_identifier",
    "pseudonymize",
    "rewrap_to_active",
    "rotate_kek",
]
