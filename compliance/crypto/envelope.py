"""Envelope encryption recipe: seal / open_sealed, with no algorithm choices for callers.

Token format, version 1 (all of it authenticated):

    offset  size  field
    0       1     format version (0x01)
    1       4     key version, big-endian uint32: the subject key's generation for data, or the
                  KEK version for wrapped data keys; it tells the reader which key to fetch
    5       12    AES-GCM nonce (random unless injected for vectors)
    17      n+16  AES-256-GCM ciphertext || tag

GCM's associated data is the 5-byte header followed by the caller's `aad`; callers bind the
subject pseudonym and the field name with field_aad(), so a ciphertext cannot be replayed into
another subject's record or another column. The header is fixed-length, so header || aad is
unambiguous.

Errors carry no data: IntegrityFailure for anything tampered, truncated, or opened with the wrong
key or aad (GCM verifies the tag before releasing any plaintext); DecryptionError for a format
version this code does not know (a newer writer, not an attack to retry).
"""

from __future__ import annotations

import struct

from compliance.crypto import primitives
from compliance.errors import DecryptionError, IntegrityFailure

FORMAT_V1 = 0x01
HEADER = struct.Struct(">BI")
NONCE_BYTES = primitives.GCM_NONCE_BYTES
TAG_BYTES = 16
OVERHEAD = HEADER.size + NONCE_BYTES + TAG_BYTES  # 33 bytes
MAX_KEY_VERSION = 2**32 - 1


def field_aad(subject: str, field: str) -> bytes:
    """AAD binding a ciphertext to one subject and one field; NUL cannot occur in either."""
    if "\x00" in subject or "\x00" in field:
        raise ValueError("subject and field must not contain NUL")
    return b"sigillo/field/v1\x00" + subject.encode("utf-8") + b"\x00" + field.encode("utf-8")


def seal(
    key: bytes | primitives.Cipher,
    plaintext: bytes,
    aad: bytes,
    *,
    key_version: int = 0,
    nonce: bytes | None = None,
) -> bytes:
    """Encrypt and authenticate `plaintext` under a 32-byte `key` (or its Cipher), bound to
    `aad`.

    `nonce` is for known-answer vectors only: reusing a nonce under one key breaks GCM.
    """
    if not 0 <= key_version <= MAX_KEY_VERSION:
        raise ValueError("key_version must fit in 32 bits")
    header = HEADER.pack(FORMAT_V1, key_version)
    nonce = primitives.random_bytes(NONCE_BYTES) if nonce is None else nonce
    return header + nonce + primitives.aes_gcm_encrypt(key, nonce, plaintext, header + aad)


def token_key_version(token: bytes) -> int:
    """The key version a token names, read before choosing the key. Unauthenticated until
    open_sealed succeeds (a forged version only makes the open fail)."""
    _check_format(token)
    return HEADER.unpack_from(token)[1]


def open_sealed(key: bytes | primitives.Cipher, token: bytes, aad: bytes) -> bytes:
    """The plaintext of `token`; IntegrityFailure or DecryptionError, never partial output."""
    _check_format(token)
    header = token[: HEADER.size]
    nonce = token[HEADER.size : HEADER.size + NONCE_BYTES]
    try:
        return primitives.aes_gcm_decrypt(key, nonce, token[HEADER.size + NONCE_BYTES :],
                                          header + aad)
    except primitives.AuthenticationFailed:
        raise IntegrityFailure("sealed data failed authentication (altered or wrong key)") from None


def _check_format(token: bytes) -> None:
    if not isinstance(token, (bytes, bytearray, memoryview)) or len(token) == 0:
        raise IntegrityFailure("sealed data is empty or not bytes")
    if token[0] != FORMAT_V1:
        raise DecryptionError("sealed data has an unknown format version")
    if len(token) < OVERHEAD:
        raise IntegrityFailure("sealed data is truncated")
