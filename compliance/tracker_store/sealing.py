"""Seal one event's personal part under the subject's data key, and open it again.

The additional authenticated data binds a sealed blob to its place: sender, conversation
generation and sequence number. A row copied to another conversation or another position fails
to open (IntegrityFailure) instead of replaying someone else's words. Pure apart from the cipher.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Protocol

from compliance.tracker_store.event_codec import join_event, lookup_of, split_event

_AAD_DOMAIN = b"sigillo/tracker-event/v1\x00"


class Cipher(Protocol):
    """compliance.crypto.envelope satisfies this (module-level seal / open_sealed)."""

    def seal(self, key: bytes, plaintext: bytes, aad: bytes) -> bytes: ...

    def open_sealed(self, key: bytes, token: bytes, aad: bytes) -> bytes: ...


class SubjectKeys(Protocol):
    """compliance.identity.SubjectKeyStore fits this; get raises SubjectErased after destroy."""

    def get_or_create(self, pseudonym: str) -> bytes: ...

    def get(self, pseudonym: str) -> bytes: ...


def event_aad(sender_id: str, generation: str, seq: int) -> bytes:
    return b"\x00".join(
        (_AAD_DOMAIN, sender_id.encode("utf-8"), generation.encode("ascii"), str(seq).encode())
    )


def seal_event(
    cipher: Cipher,
    key: bytes,
    sender_id: str,
    generation: str,
    seq: int,
    event: Mapping[str, Any],
) -> dict[str, Any]:
    """The tracker_events row values for `event` at position `seq`."""
    clear, personal = split_event(event)
    plaintext = json.dumps(personal, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    lookup = lookup_of(event)
    return {
        "sender_id": sender_id,
        "seq": seq,
        "type_name": lookup.type_name,
        "timestamp": lookup.timestamp,
        "intent_name": lookup.intent_name,
        "action_name": lookup.action_name,
        "clear": clear,
        "sealed": cipher.seal(key, plaintext, event_aad(sender_id, generation, seq)),
    }


def open_event(
    cipher: Cipher,
    key: bytes,
    sender_id: str,
    generation: str,
    seq: int,
    clear: Mapping[str, Any],
    sealed: bytes,
) -> dict[str, Any]:
    """The event dict stored at `seq`; raises the cipher's DecryptionError on tampering."""
    plaintext = cipher.open_sealed(key, bytes(sealed), event_aad(sender_id, generation, seq))
    return join_event(clear, json.loads(plaintext))
