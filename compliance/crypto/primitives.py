"""The only module that imports cryptography.hazmat (a test enforces it).

Everything else in Sigillo calls the small recipes here or in compliance.crypto.envelope, so
algorithm choices live in one place: HMAC-SHA256 for keyed hashes and pseudonyms, AES-256-GCM for
encryption, Ed25519 for audit checkpoint signatures. Functions take and return bytes; nonces and
keys are passed in so that known-answer vectors can pin them.
"""

from __future__ import annotations

import hmac
import os

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

AES_KEY_BYTES = 32
GCM_NONCE_BYTES = 12
ED25519_SEED_BYTES = 32


class AuthenticationFailed(Exception):
    """A GCM tag or an Ed25519 signature did not verify. Carries no key or data material."""


def random_bytes(n: int) -> bytes:
    return os.urandom(n)


def hmac_sha256(key: bytes, data: bytes) -> bytes:
    return hmac.digest(key, data, "sha256")  # the one-shot C path: a third cheaper than hmac.new


def constant_time_equal(a: bytes, b: bytes) -> bool:
    return hmac.compare_digest(a, b)


class Cipher:
    """AES-256-GCM under one 32-byte key, set up once. For a key that seals and opens many
    times, such as a subject's cached data key: setting the cipher up costs about twice as much
    as sealing a few hundred bytes with it (docs/benchmarks.md, issue 4)."""

    __slots__ = ("_aead",)

    def __init__(self, key: bytes) -> None:
        _check_len("key", key, AES_KEY_BYTES)
        self._aead = AESGCM(key)

    def __repr__(self) -> str:  # never the key
        return "Cipher(AES-256-GCM)"

    def encrypt(self, nonce: bytes, plaintext: bytes, aad: bytes) -> bytes:
        """Ciphertext with the 16-byte tag appended. Requires a 12-byte nonce."""
        _check_len("nonce", nonce, GCM_NONCE_BYTES)
        return self._aead.encrypt(nonce, plaintext, aad)

    def decrypt(self, nonce: bytes, ciphertext: bytes, aad: bytes) -> bytes:
        """Plaintext, or AuthenticationFailed if the key, nonce, aad or ciphertext do not match."""
        _check_len("nonce", nonce, GCM_NONCE_BYTES)
        try:
            return self._aead.decrypt(nonce, ciphertext, aad)
        except InvalidTag:
            raise AuthenticationFailed("AES-GCM authentication failed") from None


def aes_gcm_encrypt(key: bytes | Cipher, nonce: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """Ciphertext with the 16-byte tag appended: a 32-byte key (or its Cipher), a 12-byte nonce."""
    return (key if isinstance(key, Cipher) else Cipher(key)).encrypt(nonce, plaintext, aad)


def aes_gcm_decrypt(key: bytes | Cipher, nonce: bytes, ciphertext: bytes, aad: bytes) -> bytes:
    """Plaintext, or AuthenticationFailed if the key, nonce, aad or ciphertext do not match."""
    return (key if isinstance(key, Cipher) else Cipher(key)).decrypt(nonce, ciphertext, aad)


def ed25519_generate_seed() -> bytes:
    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )


def ed25519_public_key(seed: bytes) -> bytes:
    """The 32-byte raw public key of a 32-byte private seed."""
    _check_len("seed", seed, ED25519_SEED_BYTES)
    return (
        Ed25519PrivateKey.from_private_bytes(seed)
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )


def ed25519_sign(seed: bytes, message: bytes) -> bytes:
    _check_len("seed", seed, ED25519_SEED_BYTES)
    return Ed25519PrivateKey.from_private_bytes(seed).sign(message)


def ed25519_verify(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """True if `signature` is a valid Ed25519 signature of `message` under `public_key`."""
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def _check_len(name: str, value: bytes, expected: int) -> None:
    if len(value) != expected:
        raise ValueError(f"{name} must be {expected} bytes, got {len(value)}")
