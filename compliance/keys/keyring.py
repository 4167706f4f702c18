"""The keyring: every long-lived secret Sigillo holds, validated once, at load.

    pseudonym_key      32 bytes, HMAC-SHA256 key that turns identifiers into pseudonyms
    keks               {version: 32-byte AES-256 key}: key-encryption keys that wrap data keys
    active_kek         the version new data keys are wrapped under (must be in keks)
    audit_signing_key  32-byte Ed25519 seed that signs audit checkpoints
    retired_keks       versions destroyed after an erasure; never reused, so that an old backup's
                       wrapped key reads as "unknown version", not as a wrong-key failure

Threat model: the keyring lives in a key file (SIGILLO_KEY_FILE, mode 0600) or in environment
variables, never in the database (invariant 7), so a stolen database or backup decrypts nothing.
Erasure relies on retiring KEKs (compliance.identity.rotation): a retired KEK must be gone from
every copy of the key file, so key-file backups must not outlive the erasure deadline.
Reprs and error messages name fields and sources, never values.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field

from compliance.errors import KeyringError

KEY_BYTES = 32
MAX_KEK_VERSION = 2**32 - 1  # the envelope header stores key versions as uint32

ENV_PSEUDONYM_KEY = "SIGILLO_PSEUDONYM_KEY"
ENV_KEKS = "SIGILLO_KEKS"  # "1:<base64>,2:<base64>"
ENV_ACTIVE_KEK = "SIGILLO_ACTIVE_KEK"
ENV_AUDIT_SIGNING_KEY = "SIGILLO_AUDIT_SIGNING_KEY"
ENV_NAMES = (ENV_PSEUDONYM_KEY, ENV_KEKS, ENV_ACTIVE_KEK, ENV_AUDIT_SIGNING_KEY)


def fingerprint(key: bytes) -> str:
    """A short, non-secret name for a key (16 hex chars of a domain-separated SHA-256)."""
    return hashlib.sha256(b"sigillo/key-fingerprint/v1\x00" + key).hexdigest()[:16]


@dataclass(frozen=True)
class Keyring:
    """Validated key material. Build it with Keyring.build() or load_keyring(); repr is masked."""

    pseudonym_key: bytes = field(repr=False)
    keks: Mapping[int, bytes] = field(repr=False)
    active_kek: int
    audit_signing_key: bytes = field(repr=False)
    retired_keks: tuple[int, ...] = ()
    source: str = "<memory>"

    @classmethod
    def build(
        cls,
        *,
        pseudonym_key: bytes,
        keks: Mapping[int, bytes],
        active_kek: int,
        audit_signing_key: bytes,
        retired_keks: tuple[int, ...] | list[int] = (),
        source: str = "<memory>",
    ) -> Keyring:
        """A Keyring, or KeyringError naming `source` and the field that breaks a rule."""
        _check_key(pseudonym_key, "pseudonym_key", source)
        _check_key(audit_signing_key, "audit_signing_key", source)
        if not keks:
            raise KeyringError(f"{source}: field 'keks' must hold at least one key")
        for version, kek in keks.items():
            _check_version(version, f"keks.{version}", source)
            _check_key(kek, f"keks.{version}", source)
        _check_version(active_kek, "active_kek", source)
        if active_kek not in keks:
            raise KeyringError(
                f"{source}: field 'active_kek' names version {active_kek}, which is not in 'keks'"
            )
        retired = tuple(sorted(set(retired_keks)))
        for version in retired:
            _check_version(version, "retired_keks", source)
            if version in keks:
                raise KeyringError(
                    f"{source}: field 'retired_keks' lists version {version}, still in 'keks'"
                )
        return cls(bytes(pseudonym_key), dict(sorted(keks.items())), active_kek,
                   bytes(audit_signing_key), retired, source)

    @property
    def active_kek_key(self) -> bytes:
        return self.keks[self.active_kek]

    def kek(self, version: int) -> bytes | None:
        """The KEK of `version`, or None if this keyring does not hold it (retired or foreign)."""
        return self.keks.get(version)

    @property
    def next_kek_version(self) -> int:
        return max([*self.keks, *self.retired_keks]) + 1

    def __repr__(self) -> str:
        return (
            f"Keyring(source={self.source!r}, active_kek={self.active_kek}, "
            f"kek_versions={sorted(self.keks)}, retired_keks={list(self.retired_keks)}, "
            "keys=<masked>)"
        )

    __str__ = __repr__


def decode_key(value: object, field_name: str, source: str) -> bytes:
    """Strict base64 of a 32-byte key; the error names the field, never the value."""
    if not isinstance(value, str):
        raise KeyringError(f"{source}: field '{field_name}' must be a base64 string")
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise KeyringError(f"{source}: field '{field_name}' is not valid base64") from None
    _check_key(raw, field_name, source)
    return raw


def encode_key(key: bytes) -> str:
    return base64.b64encode(key).decode("ascii")


def keyring_from_env(environ: Mapping[str, str]) -> Keyring:
    """The keyring from SIGILLO_PSEUDONYM_KEY, SIGILLO_KEKS, SIGILLO_ACTIVE_KEK and
    SIGILLO_AUDIT_SIGNING_KEY; every one is required once any is set."""
    source = "environment"
    for name in ENV_NAMES:
        if not environ.get(name, "").strip():
            raise KeyringError(f"{source}: variable {name} is not set")
    keks: dict[int, bytes] = {}
    for position, item in enumerate(environ[ENV_KEKS].split(","), start=1):
        version_text, sep, encoded = item.strip().partition(":")
        label = f"{ENV_KEKS} item {position}"
        if not sep:
            raise KeyringError(f"{source}: {label} must be '<version>:<base64 key>'")
        version = _parse_int(version_text, label, source)
        if version in keks:
            raise KeyringError(f"{source}: {ENV_KEKS} lists version {version} twice")
        keks[version] = decode_key(encoded, f"{ENV_KEKS}[{version}]", source)
    return Keyring.build(
        pseudonym_key=decode_key(environ[ENV_PSEUDONYM_KEY], ENV_PSEUDONYM_KEY, source),
        keks=keks,
        active_kek=_parse_int(environ[ENV_ACTIVE_KEK], ENV_ACTIVE_KEK, source),
        audit_signing_key=decode_key(
            environ[ENV_AUDIT_SIGNING_KEY], ENV_AUDIT_SIGNING_KEY, source
        ),
        source=source,
    )


def _parse_int(text: str, field_name: str, source: str) -> int:
    text = text.strip()
    if not text.isdecimal() or not text.isascii():
        raise KeyringError(f"{source}: {field_name} must be a positive integer key version")
    return int(text)


def _check_key(key: object, field_name: str, source: str) -> None:
    if not isinstance(key, (bytes, bytearray)) or len(key) != KEY_BYTES:
        raise KeyringError(f"{source}: field '{field_name}' must decode to {KEY_BYTES} bytes")


def _check_version(version: object, field_name: str, source: str) -> None:
    if (
        not isinstance(version, int)
        or isinstance(version, bool)
        or not 1 <= version <= MAX_KEK_VERSION
    ):
        raise KeyringError(
            f"{source}: field '{field_name}' must be a key version from 1 to {MAX_KEK_VERSION}"
        )
