"""Who sent a message: one stable subject per person, whatever identifiers Meta sends.

Since 2026 a user can reach us with a phone only (`from` / `wa_id`, every message before the BSUID
roll-out), with a phone and a business-scoped user id (`from_user_id` / `user_id`), or with the
BSUID only (username adopters we have not talked to in 30 days; §3.1 of whatsapp-cloud-api.md).

The rule, so that one person never splits into two conversations:

1. Key on the phone when the message carries one: every conversation we already hold was keyed on
   it, since older messages carried nothing else. The BSUID, if present too, is returned as the
   `alias` so the caller records the phone <-> BSUID link (compliance/identity/linking).
2. With no phone, ask the caller's link table (`known_phone`) whether this BSUID was seen with a
   phone before; if so, key on that phone (the BSUID stays the alias).
3. Otherwise key on the BSUID. If the phone shows up later, rule 1 keys on the phone and reports the
   BSUID as its alias: the caller then merges the BSUID-keyed conversation into the phone one.
4. A `system` message of kind user_changed_number yields a `NumberChange(old, new)`: the caller maps
   the new phone to the subject of the old one, so the conversation continues.

courier keys the other way round (BSUID first); we key on the phone because Sigillo's vault and
consent records predate BSUIDs and the phone is what templates and authentication still need.
Phones are E.164 ("+" and 7-15 digits, no leading zero); BSUIDs are `<ISO alpha-2>.<1-128 alnum>`.
Nothing here logs, and reprs hide the values.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from connectors.whatsapp.webhook_models import InboundMessage, SenderRef, System, SystemKind

_PHONE_RE = re.compile(r"\+?([1-9][0-9]{6,14})")
# M-bsuid: "<ISO 3166 alpha-2>.<up to 128 alphanumerics>", e.g. US.13491208655302741918.
_BSUID_RE = re.compile(r"[A-Z]{2}\.[0-9A-Za-z]{1,128}")


def normalize_phone(raw: object) -> str | None:
    """E.164 form ("+" and digits) of a Meta `wa_id` / `from`, or None if it is not a phone number.

    Meta sends digits without "+" as a string; an int is accepted defensively (group webhooks).
    """
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)
    if not isinstance(raw, str):
        return None
    match = _PHONE_RE.fullmatch(raw)
    return "+" + match.group(1) if match else None


def normalize_bsuid(raw: object) -> str | None:
    """The BSUID unchanged if it has the documented shape, else None."""
    if isinstance(raw, str) and _BSUID_RE.fullmatch(raw):
        return raw
    return None


class IdentifierKind(str, enum.Enum):
    PHONE = "phone"
    BSUID = "bsuid"


@dataclass(frozen=True, slots=True)
class SubjectIdentifier:
    """The identifier a conversation is keyed on (the caller pseudonymizes it).

    Equality and hashing use (kind, value) only; `alias` is the other identifier of the same person
    in this message, reported so the caller can record the link.
    """

    kind: IdentifierKind
    value: str = field(repr=False)
    alias: SubjectIdentifier | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class NumberChange:
    """`user_changed_number`: the subject of `old` now writes from `new`."""

    old: SubjectIdentifier
    new: SubjectIdentifier


class UnidentifiableSender(ValueError):
    """The sender carries neither a valid phone nor a valid BSUID. The message is unroutable."""


def phone_identifier(phone: str) -> SubjectIdentifier:
    value = normalize_phone(phone)
    if value is None:
        raise UnidentifiableSender("not an E.164 phone number")
    return SubjectIdentifier(IdentifierKind.PHONE, value)


def bsuid_identifier(user_id: str) -> SubjectIdentifier:
    value = normalize_bsuid(user_id)
    if value is None:
        raise UnidentifiableSender("not a business-scoped user id")
    return SubjectIdentifier(IdentifierKind.BSUID, value)


def subject_identifier(
    sender: SenderRef,
    known_phone: Callable[[SubjectIdentifier], SubjectIdentifier | None] | None = None,
) -> SubjectIdentifier:
    """The subject key of `sender` under the rule in the module docstring.

    `known_phone(bsuid_identifier)` is the caller's link lookup (pure from here: injected); it
    returns the phone identifier previously linked to that BSUID, or None.
    Raises UnidentifiableSender when the sender has neither identifier (the parser never emits one).
    """
    phone = normalize_phone(sender.phone)
    bsuid = normalize_bsuid(sender.user_id)
    bsuid_id = SubjectIdentifier(IdentifierKind.BSUID, bsuid) if bsuid else None
    if phone is not None:
        return SubjectIdentifier(IdentifierKind.PHONE, phone, alias=bsuid_id)
    if bsuid_id is None:
        raise UnidentifiableSender("sender has neither a phone number nor a business-scoped id")
    linked = known_phone(bsuid_id) if known_phone is not None else None
    if linked is not None:
        if linked.kind is not IdentifierKind.PHONE:
            raise ValueError("known_phone must return a phone identifier")
        return SubjectIdentifier(IdentifierKind.PHONE, linked.value, alias=bsuid_id)
    return bsuid_id


def number_change(msg: InboundMessage) -> NumberChange | None:
    """The relink pair of a `user_changed_number` system message, else None.

    `old` is the sender's phone (the message comes from the old number); `new` is `system.wa_id`.
    None when either number is missing or invalid, or both are equal.
    """
    content = msg.content
    if not isinstance(content, System) or content.kind is not SystemKind.USER_CHANGED_NUMBER:
        return None
    old = normalize_phone(msg.sender.phone)
    new = normalize_phone(content.new_phone)
    if old is None or new is None or old == new:
        return None
    bsuid = normalize_bsuid(msg.sender.user_id)
    alias = SubjectIdentifier(IdentifierKind.BSUID, bsuid) if bsuid else None
    return NumberChange(
        old=SubjectIdentifier(IdentifierKind.PHONE, old, alias=alias),
        new=SubjectIdentifier(IdentifierKind.PHONE, new, alias=alias),
    )
