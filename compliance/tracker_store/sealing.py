"""Seal one event's personal part under the subject's data key, and open it again.

Sealing goes through the subject key store (compliance.identity), which seals under the subject's
current data key and records its generation in the token, so a token from before an erasure reads
as SubjectErased, not as tampering. The field name bound into the AAD with the pseudonym is the
conversation generation and sequence number: a row copied to another conversation or position
fails to open (IntegrityFailure) instead of replaying someone else's words.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Protocol

from compliance.tracker_store.event_codec import join_event, lookup_of, split_event


class SubjectKeys(Protocol):
    """compliance.identity.subject_keys.SubjectKeyStore fits this. seal_for creates the subject's
    data key if needed; open_for and get raise SubjectErased once it was destroyed."""

    def seal_for(self, pseudonym: str, field_name: str, plaintext: bytes) -> bytes: ...

    def open_for(self, pseudonym: str, field_name: str, token: bytes) -> bytes: ...

    def get(self, pseudonym: str) -> bytes: ...

    def get_or_create(self, pseudonym: str) -> bytes: ...


# json.dumps(..., separators=(",", ":"), ensure_ascii=False), its encoder built once: every
# event of every turn is sealed through it.
_COMPACT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def event_field(generation: str, seq: int) -> str:
    """The field name sealed into the AAD (with the pseudonym): this conversation, this slot."""
    return f"tracker_event/{generation}/{seq}"


def seal_event(
    keys: SubjectKeys, sender_id: str, generation: str, seq: int, event: Mapping[str, Any]
) -> dict[str, Any]:
    """The tracker_events row values for `event` at position `seq`."""
    clear, personal = split_event(event)
    plaintext = _COMPACT.encode(personal).encode("utf-8")
    lookup = lookup_of(event)
    return {
        "sender_id": sender_id,
        "seq": seq,
        "type_name": lookup.type_name,
        "timestamp": lookup.timestamp,
        "intent_name": lookup.intent_name,
        "action_name": lookup.action_name,
        "clear_fields": clear,
        "sealed": keys.seal_for(sender_id, event_field(generation, seq), plaintext),
    }


def open_event(
    keys: SubjectKeys,
    sender_id: str,
    generation: str,
    seq: int,
    clear: Mapping[str, Any],
    sealed: bytes,
) -> dict[str, Any]:
    """The event dict stored at `seq`; SubjectErased if shredded, IntegrityFailure if tampered."""
    plaintext = keys.open_for(sender_id, event_field(generation, seq), bytes(sealed))
    return join_event(clear, json.loads(plaintext))
