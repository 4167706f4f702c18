"""Per-subject data keys and their wrapping under a key-encryption key (KEK).

Each subject gets a random 32-byte data key; the database stores it only wrapped (sealed) under
a KEK from the keyring, which never enters the database (invariant 7). The wrap is an envelope
token whose key-version field records the KEK version, and whose AAD names the subject, so a
wrapped key copied onto another subject's row does not open. Rotation (rewrap) unwraps with the
old KEK and wraps with the active one; the data key itself, and every ciphertext under it, stay.
"""

from __future__ import annotations

from typing import Protocol

from compliance.crypto import envelope, primitives
from compliance.errors import IntegrityFailure, UnknownKeyVersion

DATA_KEY_BYTES = 32


class KekSource(Protocol):
    """What unwrap needs from a keyring: the KEK of a version, or None."""

    def kek(self, version: int) -> bytes | None: ...


def generate_data_key() -> bytes:
    return primitives.random_bytes(DATA_KEY_BYTES)


def _wrap_aad(subject: str) -> bytes:
    return b"sigillo/data-key/v1\x00" + subject.encode("utf-8")


def wrap(kek_version: int, kek: bytes, data_key: bytes, subject: str) -> bytes:
    """`data_key` sealed under `kek`, bound to `subject`, naming `kek_version`."""
    if len(data_key) != DATA_KEY_BYTES:
        raise ValueError(f"data key must be {DATA_KEY_BYTES} bytes")
    return envelope.seal(kek, data_key, _wrap_aad(subject), key_version=kek_version)


def wrapped_kek_version(wrapped: bytes) -> int:
    return envelope.token_key_version(wrapped)


def unwrap(keyring: KekSource, wrapped: bytes, subject: str) -> bytes:
    """The data key; UnknownKeyVersion if the KEK was retired or never held, IntegrityFailure if
    tampered or bound to another subject."""
    version = envelope.token_key_version(wrapped)
    kek = keyring.kek(version)
    if kek is None:
        raise UnknownKeyVersion(f"data key is wrapped under KEK version {version}, not held")
    data_key = envelope.open_sealed(kek, wrapped, _wrap_aad(subject))
    if len(data_key) != DATA_KEY_BYTES:  # authentic but not ours: refuse rather than misuse
        raise IntegrityFailure("unwrapped data key has the wrong length")
    return data_key


def rewrap(keyring: KekSource, wrapped: bytes, subject: str, kek_version: int, kek: bytes) -> bytes:
    """`wrapped` re-sealed under (kek_version, kek); the data key inside is unchanged."""
    return wrap(kek_version, kek, unwrap(keyring, wrapped, subject), subject)
