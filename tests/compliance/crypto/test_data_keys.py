"""Data keys: wrap/unwrap bound to the subject and KEK version; rewrap keeps the data key."""

from __future__ import annotations

import pytest

from compliance.crypto import data_keys
from compliance.crypto.envelope import token_key_version
from compliance.errors import IntegrityFailure, UnknownKeyVersion
from compliance.keys import Keyring

SUBJECT = "wa_" + "a" * 32
OTHER = "wa_" + "b" * 32


def _keyring(keks: dict[int, bytes], active: int) -> Keyring:
    return Keyring.build(pseudonym_key=bytes(32), keks=keks, active_kek=active,
                         audit_signing_key=bytes(32))


KR = _keyring({1: bytes([1] * 32), 2: bytes([2] * 32)}, 2)


def test_generate_is_32_random_bytes() -> None:
    a, b = data_keys.generate_data_key(), data_keys.generate_data_key()
    assert len(a) == 32 and a != b


def test_wrap_records_kek_version_and_unwraps() -> None:
    key = data_keys.generate_data_key()
    wrapped = data_keys.wrap(1, KR.keks[1], key, SUBJECT)
    assert token_key_version(wrapped) == data_keys.wrapped_kek_version(wrapped) == 1
    assert key not in wrapped
    assert data_keys.unwrap(KR, wrapped, SUBJECT) == key


def test_unwrap_for_another_subject_fails() -> None:
    wrapped = data_keys.wrap(1, KR.keks[1], bytes(32), SUBJECT)
    with pytest.raises(IntegrityFailure):
        data_keys.unwrap(KR, wrapped, OTHER)


def test_unknown_kek_version() -> None:
    wrapped = data_keys.wrap(3, bytes([3] * 32), bytes(32), SUBJECT)
    with pytest.raises(UnknownKeyVersion):
        data_keys.unwrap(KR, wrapped, SUBJECT)


def test_same_version_number_other_kek_is_integrity_failure() -> None:
    wrapped = data_keys.wrap(1, bytes([9] * 32), bytes(32), SUBJECT)
    with pytest.raises(IntegrityFailure):
        data_keys.unwrap(KR, wrapped, SUBJECT)


def test_rewrap_moves_to_new_version_and_keeps_key() -> None:
    key = data_keys.generate_data_key()
    old = data_keys.wrap(1, KR.keks[1], key, SUBJECT)
    new = data_keys.rewrap(KR, old, SUBJECT, 2, KR.keks[2])
    assert token_key_version(new) == 2
    assert data_keys.unwrap(_keyring({2: KR.keks[2]}, 2), new, SUBJECT) == key
    with pytest.raises(UnknownKeyVersion):
        data_keys.unwrap(_keyring({2: KR.keks[2]}, 2), old, SUBJECT)


def test_wrap_rejects_wrong_length() -> None:
    with pytest.raises(ValueError):
        data_keys.wrap(1, KR.keks[1], bytes(16), SUBJECT)
