"""Keyring from environment variables: every malformed case names the variable, never a value."""

from __future__ import annotations

import base64

import pytest

from compliance.errors import KeyringError
from compliance.keys import load_keyring

K1 = base64.b64encode(bytes([1] * 32)).decode()
K2 = base64.b64encode(bytes([2] * 32)).decode()
SHORT = base64.b64encode(bytes(16)).decode()
GOOD = {
    "SIGILLO_PSEUDONYM_KEY": K1,
    "SIGILLO_KEKS": f"1:{K1}, 2:{K2}",
    "SIGILLO_ACTIVE_KEK": "2",
    "SIGILLO_AUDIT_SIGNING_KEY": K2,
}

CASES = [
    ("missing_keks", {"SIGILLO_KEKS": ""}, "SIGILLO_KEKS"),
    ("missing_active", {"SIGILLO_ACTIVE_KEK": ""}, "SIGILLO_ACTIVE_KEK"),
    ("missing_audit", {"SIGILLO_AUDIT_SIGNING_KEY": ""}, "SIGILLO_AUDIT_SIGNING_KEY"),
    ("short_pseudonym_key", {"SIGILLO_PSEUDONYM_KEY": SHORT}, "SIGILLO_PSEUDONYM_KEY"),
    ("kek_without_version", {"SIGILLO_KEKS": K1}, "SIGILLO_KEKS"),
    ("kek_version_word", {"SIGILLO_KEKS": f"one:{K1}"}, "SIGILLO_KEKS"),
    ("kek_duplicate_version", {"SIGILLO_KEKS": f"1:{K1},1:{K2}"}, "SIGILLO_KEKS"),
    ("kek_bad_base64", {"SIGILLO_KEKS": "1:%%%"}, "SIGILLO_KEKS[1]"),
    ("active_not_number", {"SIGILLO_ACTIVE_KEK": "two"}, "SIGILLO_ACTIVE_KEK"),
    ("active_absent", {"SIGILLO_ACTIVE_KEK": "3"}, "active_kek"),
]


def test_good_environment() -> None:
    keyring = load_keyring(environ=GOOD)
    assert keyring.active_kek == 2 and set(keyring.keks) == {1, 2}
    assert keyring.source == "environment" and keyring.pseudonym_key == bytes([1] * 32)


@pytest.mark.parametrize("override,field", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_malformed_environment_names_variable(override: dict, field: str) -> None:
    with pytest.raises(KeyringError) as info:
        load_keyring(environ={**GOOD, **override})
    message = str(info.value)
    assert field in message and "environment" in message
    assert K1 not in message and K2 not in message
