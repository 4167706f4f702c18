"""An `InboundMessage` → what Rasa receives: a text and a small, personal-data-free metadata dict.

Decisions (design.md, one turn, step 2):

- The user's own words go in `text`, for the NLU: a text body, and a media caption too (a caption is
  what the user typed, so "can you fix this?" under a photo is classified like a text message).
- Taps go in `text` as the payload our message defined: reply-button and list-row ids (e.g.
  "/affirm"), template quick-reply payloads. A typed number ("2", "2.", " 2) ") that matches
  `numbered_choices` (the numbered-text fallback of the outbound renderer) maps to that payload.
- Everything else becomes an intent payload the domain can act on (INTENT_* below), e.g.
  "/media_received", "/location_shared", "/flow_completed".
- Free text is never allowed to start with "/": Rasa reads "/intent{...}" in any user text as an
  already-classified intent (RegexMessageHandler), so a user typing "/consent_confirmed" would
  forge a button press, and Rasa logs the text when the pattern fails. Leading slashes are removed.
- `metadata` always has `message_type` (the fine kind: text, button_reply, list_reply, flow_reply,
  template_button, image, audio, ..., unsupported) and `country_code` (the calling code from the
  E.164 phone, for language choice; None without a phone) and, for BSUID-only senders, `region`
  (the BSUID's country prefix). It never holds the phone, the BSUID, a name, the message id (a
  wamid embeds the phone), locations, shared vCards or media URLs. Exceptions, on purpose: a
  flow's parsed answers (`flow_response`) and an order's items, which the bot needs to act on; the
  tracker store seals event metadata like any personal content.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from connectors.whatsapp.calling_codes import calling_code
from connectors.whatsapp.webhook_models import (
    ButtonReply,
    Content,
    Edit,
    FlowReply,
    InboundMessage,
    ListReply,
    Location,
    Media,
    Order,
    Reaction,
    RequestWelcome,
    Revoke,
    SharedContacts,
    System,
    SystemKind,
    TemplateButton,
    Text,
    Unsupported,
)

INTENT_FLOW_COMPLETED = "/flow_completed"
INTENT_MEDIA_RECEIVED = "/media_received"
INTENT_LOCATION_SHARED = "/location_shared"
INTENT_CONTACTS_SHARED = "/contacts_shared"
INTENT_ORDER_RECEIVED = "/order_received"
INTENT_REACTION_RECEIVED = "/reaction_received"
INTENT_USER_CHANGED_NUMBER = "/user_changed_number"
INTENT_IDENTITY_CHANGED = "/customer_identity_changed"
INTENT_SYSTEM_EVENT = "/system_event"
INTENT_MESSAGE_EDITED = "/message_edited"
INTENT_MESSAGE_REVOKED = "/message_revoked"
INTENT_WELCOME_REQUESTED = "/welcome_requested"
INTENT_UNSUPPORTED = "/unsupported_message"

_NUMBERED = re.compile(r"\s*#?([0-9]{1,3})\s*[.)]?\s*")


@dataclass(frozen=True, slots=True)
class RasaInput:
    """Arguments for Rasa's `UserMessage(text=..., metadata=...)`. Repr hides both."""

    text: str = field(repr=False)
    metadata: dict[str, Any] = field(repr=False)


def to_rasa_input(
    msg: InboundMessage, numbered_choices: Mapping[str, str] | None = None
) -> RasaInput:
    """Map one inbound message to Rasa's text and metadata (rules in the module docstring).

    `numbered_choices` maps the numbers shown in the last numbered-text fallback ("1", "2", ...) to
    their payloads; only plain text messages are matched against it.
    """
    metadata: dict[str, Any] = {
        "message_type": None,
        "country_code": calling_code(msg.sender.phone),
    }
    if msg.sender.phone is None and msg.sender.user_id:
        metadata["region"] = msg.sender.user_id.split(".", 1)[0]
    if msg.context is not None:
        if msg.context.forwarded or msg.context.frequently_forwarded:
            metadata["forwarded"] = True
        if msg.context.referred_product is not None:
            metadata["referred_product"] = {
                "catalog_id": msg.context.referred_product.catalog_id,
                "product_retailer_id": msg.context.referred_product.product_retailer_id,
            }
    if msg.referral is not None:
        metadata["referral"] = {
            "source_type": msg.referral.source_type,
            "source_id": msg.referral.source_id,
            "media_type": msg.referral.media_type,
        }
    text = _content(msg.content, metadata, numbered_choices or {})
    return RasaInput(text=text, metadata=metadata)


def may_pick_numbered_choice(msg: InboundMessage) -> bool:
    """Whether `msg` could be a number typed from a numbered-text fallback: only then are the
    subject's numbered choices worth reading (a database read on the webhook's path)."""
    return isinstance(msg.content, Text) and _NUMBERED.fullmatch(msg.content.body) is not None


def message_kind(content: Content) -> str:
    """The fine-grained kind reported as `metadata["message_type"]`."""
    if isinstance(content, Media):
        return content.kind.value
    return _KINDS.get(type(content), "unsupported")


_KINDS = {
    Text: "text",
    ButtonReply: "button_reply",
    ListReply: "list_reply",
    FlowReply: "flow_reply",
    TemplateButton: "template_button",
    Location: "location",
    SharedContacts: "contacts",
    Reaction: "reaction",
    Order: "order",
    System: "system",
    Edit: "edit",
    Revoke: "revoke",
    RequestWelcome: "request_welcome",
    Unsupported: "unsupported",
}


def neutralize_text(text: str) -> str:
    """User text that Rasa cannot mistake for an intent payload (no leading "/")."""
    stripped = text.strip()
    if not stripped.startswith("/"):
        return text
    return stripped.lstrip("/").lstrip()


def _content(content: Content, metadata: dict[str, Any], choices: Mapping[str, str]) -> str:
    metadata["message_type"] = message_kind(content)
    if isinstance(content, Text):
        number = _NUMBERED.fullmatch(content.body)
        if number and number.group(1) in choices:
            metadata["numbered_choice"] = True
            return choices[number.group(1)]
        return neutralize_text(content.body)
    if isinstance(content, ButtonReply | ListReply):
        return content.id
    if isinstance(content, TemplateButton):
        return content.payload or neutralize_text(content.text)
    if isinstance(content, FlowReply):
        metadata["flow_response"] = dict(content.response)
        metadata["flow_name"] = content.name
        return INTENT_FLOW_COMPLETED
    if isinstance(content, Media):
        metadata.update(
            media_kind=content.kind.value,
            media_id=content.media_id,
            mime_type=content.mime_type,
            has_caption=content.caption is not None,
            voice=content.voice,
            animated=content.animated,
        )
        caption = neutralize_text(content.caption) if content.caption else ""
        return caption or INTENT_MEDIA_RECEIVED
    if isinstance(content, Location):
        return INTENT_LOCATION_SHARED
    if isinstance(content, SharedContacts):
        metadata["contacts_count"] = content.count
        return INTENT_CONTACTS_SHARED
    if isinstance(content, Order):
        metadata["catalog_id"] = content.catalog_id
        metadata["order_items"] = [
            {
                "product_retailer_id": item.product_retailer_id,
                "quantity": item.quantity,
                "item_price": item.item_price,
                "currency": item.currency,
            }
            for item in content.items
        ]
        return INTENT_ORDER_RECEIVED
    if isinstance(content, Reaction):
        metadata["reaction_removed"] = content.removed
        return INTENT_REACTION_RECEIVED
    if isinstance(content, System):
        metadata["system_kind"] = content.kind.value
        return {
            SystemKind.USER_CHANGED_NUMBER: INTENT_USER_CHANGED_NUMBER,
            SystemKind.CUSTOMER_IDENTITY_CHANGED: INTENT_IDENTITY_CHANGED,
        }.get(content.kind, INTENT_SYSTEM_EVENT)
    if isinstance(content, Edit):
        # Not re-run through the NLU: the original turn was already answered.
        metadata["edited_type"] = message_kind(content.content)
        return INTENT_MESSAGE_EDITED
    if isinstance(content, Revoke):
        return INTENT_MESSAGE_REVOKED
    if isinstance(content, RequestWelcome):
        return INTENT_WELCOME_REQUESTED
    assert isinstance(content, Unsupported)
    metadata.update(
        unsupported_reason=content.reason,
        original_type=content.original_type,
        error_code=content.error_code,
    )
    return INTENT_UNSUPPORTED
