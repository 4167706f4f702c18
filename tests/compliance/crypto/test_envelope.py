"""Envelope: known-answer vectors, named mutations, every-bit flips, and round-trip properties."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compliance import errors
from compliance.crypto import envelope, primitives
from compliance.crypto.envelope import field_aad, open_sealed, seal, token_key_version

VECTORS = Path(__file__).resolve().parents[2] / "vectors" / "envelope"


def _cases(name: str) -> list[dict]:
    return json.loads((VECTORS / f"{name}.json").read_text())["cases"]


def _ids(cases: list[dict]) -> list[str]:
    return [c["label"] for c in cases]


SEAL, OPEN, INVALID = _cases("seal"), _cases("open"), _cases("invalid")
KEY = bytes(range(32))
AAD = field_aad("wa_" + "a" * 32, "identifier")


# Every vector runs with the key as bytes and as the Cipher a cached data key keeps.
FORMS = ["key_bytes", "cipher"]


def _key(hex_key: str, form: str) -> bytes | primitives.Cipher:
    key = bytes.fromhex(hex_key)
    return primitives.Cipher(key) if form == "cipher" else key


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("case", SEAL, ids=_ids(SEAL))
def test_seal_known_answer(case: dict, form: str) -> None:
    token = seal(_key(case["key"], form), bytes.fromhex(case["plaintext"]),
                 bytes.fromhex(case["aad"]), key_version=case["key_version"],
                 nonce=bytes.fromhex(case["nonce"]))
    assert token.hex() == case["token"]


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("case", OPEN, ids=_ids(OPEN))
def test_open_known_answer(case: dict, form: str) -> None:
    token = bytes.fromhex(case["token"])
    assert token_key_version(token) == case["key_version"]
    plain = open_sealed(_key(case["key"], form), token, bytes.fromhex(case["aad"]))
    assert plain.hex() == case["plaintext"]


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("case", INVALID, ids=_ids(INVALID))
def test_invalid_vectors_raise_the_named_error(case: dict, form: str) -> None:
    want = getattr(errors, case["want_error"])
    with pytest.raises(errors.DecryptionError) as info:
        open_sealed(_key(case["key"], form), bytes.fromhex(case["token"]),
                    bytes.fromhex(case["aad"]))
    assert type(info.value) is want
    message = str(info.value)
    assert "\\x" not in message and not any(c in "0123456789" for c in message)


def test_every_single_bit_flip_is_rejected() -> None:
    token = seal(KEY, b"+393331234567", AAD, key_version=1, nonce=bytes(12))
    for index in range(len(token)):
        for bit in range(8):
            mutated = bytearray(token)
            mutated[index] ^= 1 << bit
            with pytest.raises(errors.DecryptionError):
                open_sealed(KEY, bytes(mutated), AAD)


def test_every_truncation_is_rejected() -> None:
    token = seal(KEY, b"hello", AAD)
    for size in range(len(token)):
        with pytest.raises(errors.DecryptionError):
            open_sealed(KEY, token[:size], AAD)


def test_token_layout_and_overhead() -> None:
    token = seal(KEY, b"abc", b"", key_version=258, nonce=bytes(range(12)))
    assert token[0] == 1 and token[1:5] == (258).to_bytes(4, "big")
    assert token[5:17] == bytes(range(12)) and len(token) == 3 + envelope.OVERHEAD


def test_random_nonces_differ() -> None:
    assert seal(KEY, b"same", AAD) != seal(KEY, b"same", AAD)


def test_error_messages_leak_nothing() -> None:
    token = seal(KEY, b"+393331234567", AAD)
    with pytest.raises(errors.IntegrityFailure) as info:
        open_sealed(bytes(32), token, AAD)
    text = str(info.value) + repr(info.value)
    assert "393331234567" not in text and token.hex()[:20] not in text and "\\x" not in text


def test_field_aad_rejects_nul() -> None:
    with pytest.raises(ValueError):
        field_aad("wa_x\x00", "identifier")


@settings(max_examples=200, deadline=None)
@given(key=st.binary(min_size=32, max_size=32), plaintext=st.binary(max_size=512),
       aad=st.binary(max_size=64), version=st.integers(0, 2**32 - 1))
def test_round_trip(key: bytes, plaintext: bytes, aad: bytes, version: int) -> None:
    token = seal(key, plaintext, aad, key_version=version)
    assert token_key_version(token) == version
    assert open_sealed(key, token, aad) == plaintext


@settings(max_examples=100, deadline=None)
@given(plaintext=st.binary(max_size=64), aad=st.binary(max_size=32),
       other=st.binary(max_size=32))
def test_other_aad_never_opens(plaintext: bytes, aad: bytes, other: bytes) -> None:
    if other == aad:
        return
    with pytest.raises(errors.IntegrityFailure):
        open_sealed(KEY, seal(KEY, plaintext, aad), other)


@settings(max_examples=100, deadline=None)
@given(plaintext=st.binary(max_size=64), key=st.binary(min_size=32, max_size=32))
def test_other_key_never_opens(plaintext: bytes, key: bytes) -> None:
    if key == KEY:
        return
    with pytest.raises(errors.IntegrityFailure):
        open_sealed(key, seal(KEY, plaintext, AAD), AAD)


def test_a_cipher_needs_a_32_byte_key_and_never_shows_it() -> None:
    with pytest.raises(ValueError, match="key"):
        primitives.Cipher(bytes(16))
    assert repr(primitives.Cipher(KEY)) == "Cipher(AES-256-GCM)"
