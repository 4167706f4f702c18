"""Pseudonyms: what Rasa, its stores, the audit log and every log line see instead of a person.

    pseudonym = "wa_" + base32(HMAC-SHA256(pseudonym_key, b"sigillo/pseudonym/v1\\x00" + id)[:20])

lowercase, unpadded: always 35 characters, stable for a given key and identifier, and useless
without the key (a plain hash of a phone number is reversed by enumerating the ~10^10 numbers of
a country; a keyed one is not). 160 bits keep collisions out of reach for any realistic user base.
`identifier` must already be normalized (normalize.normalize_identifier); phones ("+...") and
BSUIDs ("CC.xxx") cannot be spelled alike, so one domain tag serves both kinds.
"""

from __future__ import annotations

import base64
import re

from compliance.crypto import primitives

PREFIX = "wa_"
DOMAIN = b"sigillo/pseudonym/v1\x00"
DIGEST_BYTES = 20
PSEUDONYM_LEN = len(PREFIX) + 32  # 20 bytes -> 32 base32 characters, no padding
_PSEUDONYM_RE = re.compile(r"wa_[a-z2-7]{32}")


def pseudonymize(identifier: str, key: bytes) -> str:
    """The pseudonym of a normalized identifier under the keyring's pseudonym key."""
    if len(key) != 32:
        raise ValueError("pseudonym key must be 32 bytes")
    digest = primitives.hmac_sha256(key, DOMAIN + identifier.encode("utf-8"))[:DIGEST_BYTES]
    return PREFIX + base64.b32encode(digest).decode("ascii").lower()


def is_pseudonym(value: str) -> bool:
    return isinstance(value, str) and _PSEUDONYM_RE.fullmatch(value) is not None
