"""The public surface of compliance.keys and compliance.identity (style rule 12)."""

from __future__ import annotations

import compliance.identity
import compliance.keys

KEYS = {
    "ENV_KEY_FILE", "Keyring", "add_kek", "default_key_file", "fingerprint", "generate_keyring",
    "keyring_from_env", "load_keyring", "parse_keyfile", "read_keyfile", "retire_keks",
    "serialize_keyfile", "write_new_keyfile",
}
IDENTITY = {
    "BSUID", "IDENTIFIER_FIELD", "PHONE", "PSEUDONYM_LEN", "DataKey", "IdentityVault", "Member",
    "RotationReport", "SubjectKeyStore", "UnknownSubject", "choose_canonical",
    "complete_erasure", "contact_of", "is_pseudonym", "normalize_identifier", "pseudonymize",
    "rewrap_to_active", "rotate_kek",
}


def test_keys_exports() -> None:
    assert set(compliance.keys.__all__) == KEYS
    assert all(hasattr(compliance.keys, name) for name in KEYS)


def test_identity_exports() -> None:
    assert set(compliance.identity.__all__) == IDENTITY
    assert all(hasattr(compliance.identity, name) for name in IDENTITY)
