"""Audit entries and their canonical serialization, the leaf data of the Merkle tree.

An entry says who did what to which pseudonym, never what was said: design.md invariant 3 keeps
personal data out of the audit log so that it survives erasure. Content and message ids enter
only as keyed hashes (`keyed_hash`), and `check_fields` rejects values that look like phone
numbers or free text before anything is written.

The canonical form is sorted-key compact JSON in UTF-8 (RFC 8785-like, without floats), so the
same entry always hashes to the same leaf (RFC 9162 §2.1.1 hashes opaque leaf data).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, NamedTuple

from compliance.audit.errors import PersonalDataRejected
from compliance.crypto.primitives import hmac_sha256

ENTRY_FORMAT_VERSION = 1
KEYED_HASH_PREFIX = "h1:"
_KEYED_HASH_DOMAIN = b"sigillo/audit/keyed-hash/v1\x00"

COMPONENTS = ("channel", "rasa", "action_server", "cli", "compliance")
KINDS = (
    "inbound_message", "bot_action", "outbound_message", "delivery_status", "consent_change",
    "access_request", "erasure", "retention_run", "operator_command", "send_refused",
)

MAX_ATTRIBUTES = 32
MAX_TEXT_CHARS = 80  # longer strings are free text unless they are keyed hashes
MAX_TEXT_WORDS = 4  # "Re-engagement message" is a label; a sentence is content
_NAME = re.compile(r"[a-z][a-z0-9_]{0,47}\Z")
_KEYED_HASH = re.compile(r"h1:[0-9a-f]{64}\Z")
# A pseudonym is a lowercase prefix, a separator and a hex/base64url HMAC; a phone number or a
# business-scoped user id ("US.1234…") can never match.
_SUBJECT = re.compile(r"[a-z][a-z0-9]{0,15}[:_][0-9A-Za-z_-]{16,128}\Z")
# E.164 (+ and 8-15 digits, maybe with separators) or any run of 8+ digits.
_PHONE_LIKE = re.compile(r"\+\s*\d[\d\s().-]{6,}\d|\d{8,}|\d(?:[\s().-]*\d){7,}")
# Integers under these keys are counters or sequence numbers, not identifiers.
_NUMERIC_KEY_SUFFIXES = ("_count", "_seq", "_size", "_days", "_ms", "_bytes")

Scalar = str | int | bool | None


def keyed_hash(key: bytes, value: str | bytes) -> str:
    """"h1:<hex HMAC-SHA256>" of a message id or content: linkable with the key, opaque without.

    The domain tag keeps these hashes apart from pseudonyms made with the same key.
    """
    data = value.encode("utf-8") if isinstance(value, str) else value
    return KEYED_HASH_PREFIX + hmac_sha256(key, _KEYED_HASH_DOMAIN + data).hex()


def format_time(moment: datetime) -> str:
    """UTC with microseconds and a Z, the one textual form stored and hashed."""
    if moment.tzinfo is None:
        raise PersonalDataRejected("time must be timezone-aware (UTC)")
    if moment.tzinfo is not timezone.utc:
        moment = moment.astimezone(timezone.utc)
    # isoformat's "+00:00" swapped for the Z: the text strftime("%Y-%m-%dT%H:%M:%S.%fZ") gives
    # (for years from 1000 on), in about two thirds of its time; every entry formats one.
    return moment.isoformat(timespec="microseconds")[:-6] + "Z"


def parse_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class NewEntry:
    """What a caller appends; the log assigns seq and time under its lock."""

    component: str
    kind: str
    subject: str | None = None
    attributes: Mapping[str, Scalar] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_fields(self.component, self.kind, self.subject, self.attributes)

    @classmethod
    def coerce(cls, value: NewEntry | Mapping[str, Any]) -> NewEntry:
        if isinstance(value, NewEntry):
            return value
        unknown = set(value) - {"component", "kind", "subject", "attributes"}
        if unknown:
            raise PersonalDataRejected(f"unknown audit entry field(s): {sorted(unknown)}")
        return cls(
            component=value.get("component", ""),
            kind=value.get("kind", ""),
            subject=value.get("subject"),
            attributes=dict(value.get("attributes") or {}),
        )


@dataclass(frozen=True)
class AuditEntry:
    """One leaf of the audit log: seq is its leaf index (RFC 9162 §2.1.1), time UTC in µs."""

    seq: int
    time: datetime
    component: str
    kind: str
    subject: str | None
    attributes: Mapping[str, Scalar]

    def attributes_json(self) -> str:
        return canonical_json(dict(self.attributes))

    def canonical_bytes(self) -> bytes:
        """Sorted-key compact JSON, UTF-8: the Merkle leaf data."""
        document = {
            "attributes": dict(self.attributes),
            "component": self.component,
            "kind": self.kind,
            "seq": self.seq,
            "subject": self.subject,
            "time": format_time(self.time),
            "v": ENTRY_FORMAT_VERSION,
        }
        return canonical_json(document).encode("utf-8")


class StoredEntry(NamedTuple):
    """An entry as stored and exported: attributes as canonical JSON text, leaf hash in hex.

    A plain tuple so that database rows stream into verification without copying.
    """

    seq: int
    time: str
    component: str
    kind: str
    subject: str | None
    attributes: str
    leaf_hash: str


# What json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False) builds on
# each call, built once: every audit entry's attributes go through it.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_json(value: Any) -> str:
    return _CANONICAL.encode(value)


def leaf_data(seq: int, time: str, component: str, kind: str, subject: str | None,
              attributes_json: str) -> bytes:
    """The canonical bytes rebuilt from stored text without parsing (fast path for verify).

    Equal to AuditEntry.canonical_bytes() whenever attributes_json is canonical, which the writer
    guarantees; a test pins the equality. Keys appear in sorted order.
    """
    return (
        f'{{"attributes":{attributes_json},"component":{_quote(component)},'
        f'"kind":{_quote(kind)},"seq":{int(seq)},"subject":{_quote(subject)},'
        f'"time":{_json_string(time)},"v":{ENTRY_FORMAT_VERSION}}}'
    ).encode()


@functools.lru_cache(maxsize=4096)
def _quote(value: str | None) -> str:
    """JSON string literal; cached because components, kinds and subjects repeat (verify speed)."""
    return json.dumps(value, ensure_ascii=False)


def _json_string(value: str) -> str:
    """json.dumps(value, ensure_ascii=False) for one string, without json's machinery when
    nothing needs escaping (a timestamp never does): a fifth of verify's time went to it.
    json escapes only the quote, the backslash and control characters here."""
    if value.isascii() and value.isprintable() and '"' not in value and "\\" not in value:
        return '"' + value + '"'
    return json.dumps(value, ensure_ascii=False)


def check_fields(component: str, kind: str, subject: str | None,
                 attributes: Mapping[str, Any]) -> None:
    """Raise PersonalDataRejected unless every field is a non-personal label, hash or counter."""
    for name, value in (("component", component), ("kind", kind)):
        if not isinstance(value, str) or not _NAME.match(value):
            raise PersonalDataRejected(f"audit entry {name} must match {_NAME.pattern}")
    if subject is not None and (not isinstance(subject, str) or not _SUBJECT.match(subject)):
        raise PersonalDataRejected("audit entry subject must be a pseudonym, never an identifier")
    if not isinstance(attributes, Mapping):
        raise PersonalDataRejected("audit entry attributes must be a mapping")
    if len(attributes) > MAX_ATTRIBUTES:
        raise PersonalDataRejected(f"audit entry has more than {MAX_ATTRIBUTES} attributes")
    for key, value in attributes.items():
        _check_attribute(key, value)


def _check_attribute(key: Any, value: Any) -> None:
    if not isinstance(key, str) or not _NAME.match(key):
        raise PersonalDataRejected(f"attribute names must match {_NAME.pattern}")
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, int):
        if abs(value) >= 10**7 and not key.endswith(_NUMERIC_KEY_SUFFIXES) and key != "seq":
            raise PersonalDataRejected(
                f"attribute {key!r}: integers of 8+ digits are allowed only for keys ending in "
                f"{', '.join(_NUMERIC_KEY_SUFFIXES)}"
            )
        return
    if not isinstance(value, str):
        raise PersonalDataRejected(f"attribute {key!r} must be a string, integer, boolean or null")
    if value in _LABELS_SEEN or _KEYED_HASH.match(value):
        return
    if len(value) > MAX_TEXT_CHARS or len(value.split()) > MAX_TEXT_WORDS:
        raise PersonalDataRejected(f"attribute {key!r} looks like free text; use keyed_hash()")
    if _PHONE_LIKE.search(value):
        raise PersonalDataRejected(f"attribute {key!r} looks like a phone number; use keyed_hash()")
    _remember_label(value)


# Strings that passed the label checks: the same few (an action, a policy, a message type, a
# response) label almost every entry, and the phone pattern is the costliest check of an entry.
# Only what passed is kept (a rejected value may be personal data); bounded, as a value could be
# anything that happens to pass.
_LABELS_SEEN: set[str] = set()
_MAX_LABELS_SEEN = 4096


def _remember_label(value: str) -> None:
    if len(_LABELS_SEEN) >= _MAX_LABELS_SEEN:
        _LABELS_SEEN.clear()
    _LABELS_SEEN.add(value)
