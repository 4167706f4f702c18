"""A webhook POST body (already JSON-decoded, signature already checked) → `ParsedWebhook`.

Walks every entry, every change and every message, status and preference, like courier's
`processWhatsAppPayload` (pywa's `entry[0]` is the habit not to copy; §13.3). Rules:

- Only a wrong envelope raises `WebhookFormatError` (→ 400): the body is not an object, `object` is
  not "whatsapp_business_account", `entry` is not a list, or the body holds more updates than Meta
  ever batches (limits.WEBHOOK_BATCH_MAX).
- A bad item (no id, bad timestamp, no usable sender, unknown shape) is skipped with a `ParseIssue`
  naming its JSON path and a reason, never its content; the rest of the body is still processed.
- Changes whose `field` is not "messages" are `Ignored` (the 200 is the caller's), except
  "user_preferences", which yields `PreferenceUpdate`s (marketing stop/resume, §11).
- Duplicates inside one body are dropped: messages by id, statuses by (id, status) (§8). Dropping
  redeliveries across bodies is the inbox's job.
- `value.errors` (account-level problems such as 130429) are returned in `errors`.

Pure: no I/O, no clock, no logging.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from connectors.whatsapp import limits
from connectors.whatsapp.message_parser import (
    integer,
    parse_content,
    parse_context,
    parse_errors,
    parse_referral,
    string,
    type_name,
)
from connectors.whatsapp.sender_identity import normalize_bsuid, normalize_phone
from connectors.whatsapp.webhook_models import (
    Ignored,
    InboundMessage,
    ParsedWebhook,
    ParseIssue,
    PreferenceUpdate,
    PreferenceValue,
    SenderRef,
    StatusKind,
    StatusUpdate,
    WhatsAppError,
)

WHATSAPP_OBJECT = "whatsapp_business_account"
# Our bound, not Meta's: wamids are ~60 characters; anything far longer is not an id.
_ID_MAX_CHARS = 512

# ParseIssue reasons.
NOT_AN_OBJECT = "not_an_object"
MISSING_CHANGES = "missing_changes"
MISSING_FIELD = "missing_field"
MISSING_METADATA = "missing_phone_number_id"
MISSING_ID = "missing_or_invalid_id"
INVALID_TIMESTAMP = "invalid_timestamp"
INVALID_SENDER_PHONE = "invalid_sender_phone"
NO_SENDER = "no_usable_sender"
DUPLICATE_MESSAGE = "duplicate_message_id"
DUPLICATE_STATUS = "duplicate_status"
NOT_A_LIST = "not_a_list"
IGNORED_FIELD = "field_not_handled_by_chat_channel"


class WebhookFormatError(ValueError):
    """The webhook envelope is not a WhatsApp Business Account webhook. `reason` is content-free."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"invalid WhatsApp webhook: {reason}")
        self.reason = reason


@dataclass
class _Collected:
    messages: list[InboundMessage] = field(default_factory=list)
    statuses: list[StatusUpdate] = field(default_factory=list)
    preferences: list[PreferenceUpdate] = field(default_factory=list)
    ignored: list[Ignored] = field(default_factory=list)
    errors: list[WhatsAppError] = field(default_factory=list)
    issues: list[ParseIssue] = field(default_factory=list)
    seen_messages: set[str] = field(default_factory=set)
    seen_statuses: set[tuple[str, str]] = field(default_factory=set)

    def issue(self, reason: str, where: str) -> None:
        self.issues.append(ParseIssue(reason=reason, where=where))


def parse_webhook(body: Mapping[str, Any]) -> ParsedWebhook:
    """Parse a decoded webhook body. Raises WebhookFormatError only for a wrong envelope."""
    if not isinstance(body, Mapping):
        raise WebhookFormatError("body is not a JSON object")
    if body.get("object") != WHATSAPP_OBJECT:
        raise WebhookFormatError(f"'object' is not '{WHATSAPP_OBJECT}'")
    entries = body.get("entry")
    if not isinstance(entries, list):
        raise WebhookFormatError("'entry' is not a list")
    if count_updates(entries) > limits.WEBHOOK_BATCH_MAX:
        raise WebhookFormatError(f"more than {limits.WEBHOOK_BATCH_MAX} updates in one body")

    out = _Collected()
    for i, entry in enumerate(entries):
        where = f"entry[{i}]"
        if not isinstance(entry, Mapping):
            out.issue(NOT_AN_OBJECT, where)
            continue
        changes = entry.get("changes")
        if not isinstance(changes, list):
            out.issue(MISSING_CHANGES, where)
            continue
        for j, change in enumerate(changes):
            _change(change, f"{where}.changes[{j}]", out)
    return ParsedWebhook(
        messages=tuple(out.messages),
        statuses=tuple(out.statuses),
        preferences=tuple(out.preferences),
        ignored=tuple(out.ignored),
        errors=tuple(out.errors),
        issues=tuple(out.issues),
    )


def count_updates(entries: list[Any]) -> int:
    """Messages + statuses + preferences in the body, counted without trusting any shape."""
    total = 0
    for entry in entries:
        changes = entry.get("changes") if isinstance(entry, Mapping) else None
        for change in changes if isinstance(changes, list) else ():
            value = change.get("value") if isinstance(change, Mapping) else None
            if isinstance(value, Mapping):
                for key in ("messages", "statuses", "user_preferences"):
                    items = value.get(key)
                    total += len(items) if isinstance(items, list) else 0
    return total


def _change(change: Any, where: str, out: _Collected) -> None:
    if not isinstance(change, Mapping):
        out.issue(NOT_AN_OBJECT, where)
        return
    name, value = change.get("field"), change.get("value")
    if not isinstance(name, str):
        out.issue(MISSING_FIELD, where)
        return
    if name not in ("messages", "user_preferences"):
        out.ignored.append(Ignored(reason=IGNORED_FIELD, field_name=type_name(name)))
        return
    if not isinstance(value, Mapping):
        out.issue(NOT_AN_OBJECT, f"{where}.value")
        return
    metadata = value.get("metadata")
    metadata = metadata if isinstance(metadata, Mapping) else {}
    phone_number_id = string(metadata.get("phone_number_id"))
    if name == "user_preferences":
        _preferences(value, phone_number_id, f"{where}.value", out)
        return
    out.errors.extend(parse_errors(value.get("errors")))
    contacts = value.get("contacts")
    contacts = [c for c in contacts if isinstance(c, Mapping)] if isinstance(contacts, list) else []
    for k, raw in enumerate(_items(value, "messages", f"{where}.value", out)):
        path = f"{where}.value.messages[{k}]"
        if phone_number_id is None:
            out.issue(MISSING_METADATA, path)
            continue
        _message(raw, path, phone_number_id, string(metadata.get("display_phone_number")),
                 contacts, out)
    for k, raw in enumerate(_items(value, "statuses", f"{where}.value", out)):
        _status(raw, f"{where}.value.statuses[{k}]", phone_number_id, out)


def _items(value: Mapping[str, Any], key: str, where: str, out: _Collected) -> list[Any]:
    items = value.get(key)
    if items is None:
        return []
    if not isinstance(items, list):
        out.issue(NOT_A_LIST, f"{where}.{key}")
        return []
    return items


def _valid_id(value: Any) -> str | None:
    text = string(value)
    return text if text is not None and len(text) <= _ID_MAX_CHARS and text.isprintable() else None


def _message(
    raw: Any,
    where: str,
    phone_number_id: str,
    display_phone_number: str | None,
    contacts: list[Mapping[str, Any]],
    out: _Collected,
) -> None:
    if not isinstance(raw, Mapping):
        out.issue(NOT_AN_OBJECT, where)
        return
    message_id, timestamp = _valid_id(raw.get("id")), integer(raw.get("timestamp"))
    if message_id is None:
        out.issue(MISSING_ID, where)
        return
    if timestamp is None:
        out.issue(INVALID_TIMESTAMP, where)
        return
    sender = _sender(raw, contacts)
    if isinstance(sender, str):
        out.issue(sender, where)
        return
    if message_id in out.seen_messages:
        out.issue(DUPLICATE_MESSAGE, where)
        return
    out.seen_messages.add(message_id)
    mtype, content = parse_content(raw)
    out.messages.append(
        InboundMessage(
            message_id=message_id,
            timestamp=timestamp,
            phone_number_id=phone_number_id,
            display_phone_number=display_phone_number,
            sender=sender,
            type=mtype,
            content=content,
            context=parse_context(raw.get("context")),
            referral=parse_referral(raw.get("referral")),
            group_id=string(raw.get("group_id")),
        )
    )


def _sender(raw: Mapping[str, Any], contacts: list[Mapping[str, Any]]) -> SenderRef | str:
    """The sender, or a ParseIssue reason. The message's own fields win over `contacts[]`.

    The contact is the one whose wa_id / user_id matches the message, else the only one present
    (Meta sends one contact per message); it supplies the profile name and any missing identifier.
    """
    from_phone, from_user = raw.get("from"), raw.get("from_user_id")
    contact = next(
        (
            c for c in contacts
            if (from_phone is not None and c.get("wa_id") == from_phone)
            or (from_user is not None and c.get("user_id") == from_user)
        ),
        contacts[0] if len(contacts) == 1 else None,
    ) or {}
    raw_phone = from_phone if from_phone is not None else contact.get("wa_id")
    phone = normalize_phone(raw_phone)
    if raw_phone is not None and phone is None:
        # A present but malformed phone is not silently replaced by the BSUID: that would key
        # the same person differently depending on a parsing accident.
        return INVALID_SENDER_PHONE
    user_id = normalize_bsuid(from_user if from_user is not None else contact.get("user_id"))
    if phone is None and user_id is None:
        return NO_SENDER
    parent = raw.get("from_parent_user_id", contact.get("parent_user_id"))
    profile = contact.get("profile")
    profile = profile if isinstance(profile, Mapping) else {}
    return SenderRef(
        phone=phone,
        user_id=user_id,
        parent_user_id=normalize_bsuid(parent),
        profile_name=string(profile.get("name")),
        username=string(profile.get("username")),
    )


def _status(raw: Any, where: str, phone_number_id: str | None, out: _Collected) -> None:
    if not isinstance(raw, Mapping):
        out.issue(NOT_AN_OBJECT, where)
        return
    message_id, timestamp = _valid_id(raw.get("id")), integer(raw.get("timestamp"))
    raw_status = string(raw.get("status"))
    if message_id is None:
        out.issue(MISSING_ID, where)
        return
    if timestamp is None:
        out.issue(INVALID_TIMESTAMP, where)
        return
    key = (message_id, raw_status or "")
    if key in out.seen_statuses:
        out.issue(DUPLICATE_STATUS, where)
        return
    out.seen_statuses.add(key)
    recipient_type = string(raw.get("recipient_type"))
    pricing = raw.get("pricing")
    pricing = pricing if isinstance(pricing, Mapping) else {}
    out.statuses.append(
        StatusUpdate(
            message_id=message_id,
            status=StatusKind(raw_status) if raw_status else StatusKind.UNKNOWN,
            timestamp=timestamp,
            phone_number_id=phone_number_id,
            recipient_phone=(
                None if recipient_type == "group" else normalize_phone(raw.get("recipient_id"))
            ),
            recipient_user_id=normalize_bsuid(raw.get("recipient_user_id")),
            recipient_type=type_name(recipient_type),
            errors=parse_errors(raw.get("errors")),
            pricing_category=string(pricing.get("category")),
            pricing_type=string(pricing.get("type")),
            biz_opaque_callback_data=string(raw.get("biz_opaque_callback_data")),
        )
    )


def _preferences(
    value: Mapping[str, Any], phone_number_id: str | None, where: str, out: _Collected
) -> None:
    for k, raw in enumerate(_items(value, "user_preferences", where, out)):
        path = f"{where}.user_preferences[{k}]"
        if not isinstance(raw, Mapping):
            out.issue(NOT_AN_OBJECT, path)
            continue
        phone, user_id = normalize_phone(raw.get("wa_id")), normalize_bsuid(raw.get("user_id"))
        if phone is None and user_id is None:
            out.issue(NO_SENDER, path)
            continue
        pref = string(raw.get("value"))
        out.preferences.append(
            PreferenceUpdate(
                phone=phone,
                user_id=user_id,
                category=type_name(raw.get("category")),
                value=PreferenceValue(pref) if pref else PreferenceValue.UNKNOWN,
                timestamp=integer(raw.get("timestamp")),
                phone_number_id=phone_number_id,
            )
        )
