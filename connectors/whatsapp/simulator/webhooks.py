"""Webhook bodies in Meta's envelope, and their signature.

Source: whatsapp-cloud-api.md §3 (envelope: object, entry[{id, changes[{field, value{
messaging_product, metadata, contacts, messages|statuses}}]}]; all ids and timestamps strings),
§3.1 (BSUID era: `contacts[].user_id`, `from_user_id`, `from` absent for username-only users;
statuses add `recipient_user_id`), §4 (per-type message objects), §5 (statuses, failed `errors[]`),
§11 (user_preferences) and §2 (X-Hub-Signature-256 = HMAC-SHA256 over the exact body bytes).
Pure: ids and timestamps are passed in.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from connectors.whatsapp.simulator.errors import ValidationError

OBJECT = "whatsapp_business_account"
_MIME = {
    "image": "image/jpeg",
    "video": "video/mp4",
    "audio": "audio/ogg; codecs=opus",
    "document": "application/pdf",
    "sticker": "image/webp",
}


@dataclass(frozen=True)
class Business:
    """The business number the webhook is about (§3 `metadata`, `entry[].id` = WABA id)."""

    waba_id: str
    phone_number_id: str
    display_phone_number: str


@dataclass(frozen=True)
class WhatsAppUser:
    """A user as Meta identifies them: phone (`wa_id`), BSUID (`user_id`) or both (§3.1)."""

    wa_id: str | None = None
    user_id: str | None = None
    name: str | None = None

    def __post_init__(self) -> None:
        if not self.wa_id and not self.user_id:
            raise ValueError("WhatsAppUser needs wa_id or user_id")

    def contact(self) -> dict:
        """One `contacts[]` item: profile, then wa_id and/or user_id (§3)."""
        contact: dict[str, Any] = {}
        if self.name is not None:
            contact["profile"] = {"name": self.name}
        if self.wa_id:
            contact["wa_id"] = self.wa_id
        if self.user_id:
            contact["user_id"] = self.user_id
        return contact


def envelope(business: Business, value: dict, field: str = "messages") -> dict:
    """Wrap one change value in Meta's envelope (§3); `field` before `value` is not Meta's order."""
    full_value = {
        "messaging_product": "whatsapp",
        "metadata": {
            "display_phone_number": business.display_phone_number,
            "phone_number_id": business.phone_number_id,
        },
        **value,
    }
    return {
        "object": OBJECT,
        "entry": [{"id": business.waba_id, "changes": [{"value": full_value, "field": field}]}],
    }


def inbound(business: Business, user: WhatsAppUser, message_id: str, timestamp: int,
            content: dict, context: dict | None = None) -> dict:
    """A messages webhook for one inbound message; `content` is {"type", <type>: {...}} (§4)."""
    message: dict[str, Any] = {}
    if context:
        message["context"] = context
    if user.wa_id:
        message["from"] = user.wa_id
    if user.user_id:
        message["from_user_id"] = user.user_id
    message.update({"id": message_id, "timestamp": str(timestamp)})
    message.update(content)
    return envelope(business, {"contacts": [user.contact()], "messages": [message]})


# ---- §4 message contents ---------------------------------------------------------------------


def text(body: str) -> dict:
    return {"type": "text", "text": {"body": body}}


def button_reply(reply_id: str, title: str) -> dict:
    """Tap on an interactive reply button (§4 `interactive.button_reply`)."""
    reply = {"id": reply_id, "title": title}
    return {"type": "interactive", "interactive": {"type": "button_reply", "button_reply": reply}}


def list_reply(row_id: str, title: str, description: str | None = None) -> dict:
    """Choice of a list row (§4 `interactive.list_reply`)."""
    reply = {"id": row_id, "title": title}
    if description:
        reply["description"] = description
    return {"type": "interactive", "interactive": {"type": "list_reply", "list_reply": reply}}


def template_button(payload: str, label: str) -> dict:
    """Template quick-reply tap: type `button`, not `interactive` (§4, §13 item 4)."""
    return {"type": "button", "button": {"payload": payload, "text": label}}


def media(kind: str, media_id: str, sha256_b64: str, *, caption: str | None = None,
          filename: str | None = None, mime_type: str | None = None, url: str | None = None,
          voice: bool = False, animated: bool | None = None) -> dict:
    """Image, video, audio (voice note), document or sticker (§4)."""
    obj: dict[str, Any] = {"mime_type": mime_type or _MIME[kind], "sha256": sha256_b64,
                           "id": media_id}
    if url:
        obj["url"] = url
    if caption is not None and kind in ("image", "video", "document"):
        obj["caption"] = caption
    if kind == "document":
        obj["filename"] = filename or "document.pdf"
    if kind == "audio" and voice:
        obj["voice"] = True
    if kind == "sticker":
        obj["animated"] = bool(animated)
    return {"type": kind, kind: obj}


def location(latitude: float, longitude: float, name: str | None = None,
             address: str | None = None) -> dict:
    loc: dict[str, Any] = {"latitude": latitude, "longitude": longitude}
    if name:
        loc["name"] = name
    if address:
        loc["address"] = address
    return {"type": "location", "location": loc}


def contacts(cards: list[dict]) -> dict:
    """Shared contact cards; each needs at least `name.formatted_name` (§4)."""
    return {"type": "contacts", "contacts": cards}


def reaction(message_id: str, emoji: str | None) -> dict:
    """A reaction; `emoji` omitted when the user removes it (§4)."""
    obj = {"message_id": message_id}
    if emoji:
        obj["emoji"] = emoji
    return {"type": "reaction", "reaction": obj}


def number_change(old_wa_id: str, new_wa_id: str, name: str = "User") -> dict:
    """§4 `system.user_changed_number` (Meta sends no `contacts` with it)."""
    return {"type": "system", "system": {
        "body": f"User {name} changed from {old_wa_id} to {new_wa_id}",
        "wa_id": new_wa_id, "type": "user_changed_number"}}


def unsupported(kind: str = "unknown") -> dict:
    """§4 `unsupported` with the 131051 error on the message."""
    return {"type": "unsupported", "unsupported": {"type": kind}, "errors": [{
        "code": 131051, "title": "Message type unknown", "message": "Message type unknown",
        "error_data": {"details": "Message type is currently not supported."}}]}


def system_message(business: Business, user: WhatsAppUser, message_id: str, timestamp: int,
                   content: dict) -> dict:
    """Like `inbound` but without `contacts`, as in Meta's system example (§4)."""
    body = inbound(business, user, message_id, timestamp, content)
    del body["entry"][0]["changes"][0]["value"]["contacts"]
    return body


# ---- §5 statuses, §11 user preferences ------------------------------------------------------


def status(message_id: str, state: str, timestamp: int, recipient: WhatsAppUser,
           error: ValidationError | None = None, category: str = "service") -> dict:
    """One `statuses[]` item; failed carries `errors[]`, the others carry PMP `pricing` (§5)."""
    item: dict[str, Any] = {"id": message_id, "status": state, "timestamp": str(timestamp)}
    if recipient.wa_id:
        item["recipient_id"] = recipient.wa_id
    if recipient.user_id:
        item["recipient_user_id"] = recipient.user_id
    if state == "failed":
        item["errors"] = [(error.to_status_error() if error else {})]
    else:
        item["pricing"] = {
            "billable": category != "service", "pricing_model": "PMP",
            "type": "free_customer_service" if category == "service" else "regular",
            "category": category}
    return item


def statuses(business: Business, items: list[dict], recipient: WhatsAppUser | None = None) -> dict:
    """A statuses webhook; `contacts` only for BSUID recipients and never on failed (§3, §5)."""
    value: dict[str, Any] = {}
    if recipient is not None and recipient.user_id and all(i["status"] != "failed" for i in items):
        value["contacts"] = [WhatsAppUser(wa_id=recipient.wa_id, user_id=recipient.user_id,
                                          name=recipient.name).contact()]
    value["statuses"] = items
    return envelope(business, value)


def user_preferences(business: Business, user: WhatsAppUser, value: str, timestamp: int) -> dict:
    """Marketing stop/resume (§11 M-prefs); Meta's timestamp here is an integer."""
    if value not in ("stop", "resume"):
        raise ValueError("user preference value must be 'stop' or 'resume'")
    detail = ("User requested to stop marketing messages" if value == "stop"
              else "User requested to resume marketing messages")
    pref: dict[str, Any] = {"wa_id": user.wa_id} if user.wa_id else {"user_id": user.user_id}
    pref.update({"detail": detail, "category": "marketing_messages", "value": value,
                 "timestamp": timestamp})
    contact = {k: v for k, v in user.contact().items() if k != "profile"}
    return envelope(business, {"contacts": [contact], "user_preferences": [pref]},
                    field="user_preferences")


# ---- §2 bytes and signature -----------------------------------------------------------------


def serialize(body: dict, *, ensure_ascii: bool = True) -> bytes:
    """The bytes sent on the wire; sign these, send these (§2). Meta escapes non-ASCII as
    \\uXXXX, hence the default; `ensure_ascii=False` exercises raw UTF-8 bodies."""
    return json.dumps(body, ensure_ascii=ensure_ascii, separators=(",", ":")).encode("utf-8")


def sign(app_secret: str, raw: bytes) -> str:
    """X-Hub-Signature-256 value: "sha256=" + lowercase hex HMAC-SHA256 of the raw bytes (§2)."""
    digest = hmac.new(app_secret.encode("utf-8"), raw, hashlib.sha256).hexdigest()
    return f"sha256={digest}"
