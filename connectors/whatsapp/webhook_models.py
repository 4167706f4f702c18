"""Typed, frozen models of what a WhatsApp webhook POST carries.

`webhook_parser.parse_webhook` turns a body into a `ParsedWebhook` of these; nothing downstream
reads Meta's dicts. Shapes follow whatsapp-cloud-api.md §3-5 and pywa's `pywa/types/*` (frozen
slotted dataclasses, enums that map unknown values to UNKNOWN instead of raising).

Privacy: these objects may be printed in logs and test failures. Every field that holds user text,
a phone number, a BSUID, a name, a location, a URL or a message id is declared `repr=False`.
Message ids count as personal data: a wamid is base64 and embeds the user's phone number
(`wamid.HBgLMTY1MDM4Nzk0MzkV...` decodes to `...16503879439...`).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


class _OpenEnum(str, enum.Enum):
    """A str enum whose unknown values become UNKNOWN: Meta adds values without notice."""

    @classmethod
    def _missing_(cls, value: object) -> _OpenEnum:
        return cls["UNKNOWN"]


class MessageType(_OpenEnum):
    """The wire `type` of an inbound message (§4). `unknown` also covers Meta's older name."""

    TEXT = "text"
    INTERACTIVE = "interactive"
    BUTTON = "button"
    IMAGE = "image"
    AUDIO = "audio"
    VIDEO = "video"
    DOCUMENT = "document"
    STICKER = "sticker"
    LOCATION = "location"
    CONTACTS = "contacts"
    REACTION = "reaction"
    ORDER = "order"
    SYSTEM = "system"
    EDIT = "edit"
    REVOKE = "revoke"
    REQUEST_WELCOME = "request_welcome"
    UNSUPPORTED = "unsupported"
    UNKNOWN = "unknown"


class MediaKind(_OpenEnum):
    IMAGE = "image"
    AUDIO = "audio"
    VIDEO = "video"
    DOCUMENT = "document"
    STICKER = "sticker"
    UNKNOWN = "unknown"


class SystemKind(_OpenEnum):
    USER_CHANGED_NUMBER = "user_changed_number"
    CUSTOMER_IDENTITY_CHANGED = "customer_identity_changed"
    UNKNOWN = "unknown"


class StatusKind(_OpenEnum):
    """Delivery status of a message we sent (§5). Never move a status backwards: order varies."""

    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    PLAYED = "played"
    FAILED = "failed"
    UNKNOWN = "unknown"


class PreferenceValue(_OpenEnum):
    STOP = "stop"
    RESUME = "resume"
    UNKNOWN = "unknown"


# --- who sent it -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SenderRef:
    """The sender as the webhook names them. `phone` is E.164 ("+" and digits) when Meta sent one.

    BSUID era (§3.1): `phone` may be None and `user_id` (a business-scoped user id) present, or
    both.
    The parser guarantees at least one of `phone` and `user_id` is set.
    """

    phone: str | None = field(default=None, repr=False)
    user_id: str | None = field(default=None, repr=False)
    parent_user_id: str | None = field(default=None, repr=False)
    profile_name: str | None = field(default=None, repr=False)
    username: str | None = field(default=None, repr=False)


# --- per-type content -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Text:
    body: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class ButtonReply:
    """Tap on an interactive reply button; `id` is the payload our message defined (/affirm)."""

    id: str
    title: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class ListReply:
    id: str
    title: str = field(repr=False)
    description: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class FlowReply:
    """A completed WhatsApp Flow; `response` is the parsed `nfm_reply.response_json` string."""

    response: Mapping[str, Any] = field(repr=False)
    body: str | None = field(default=None, repr=False)
    name: str | None = None


@dataclass(frozen=True, slots=True)
class TemplateButton:
    """Quick-reply tap on a template (`type: button`), not the same thing as ButtonReply (§13.4)."""

    payload: str
    text: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class Media:
    kind: MediaKind
    media_id: str
    mime_type: str | None = None
    sha256: str | None = field(default=None, repr=False)
    caption: str | None = field(default=None, repr=False)
    filename: str | None = field(default=None, repr=False)
    voice: bool = False
    animated: bool = False
    url: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class Location:
    latitude: float = field(repr=False)
    longitude: float = field(repr=False)
    name: str | None = field(default=None, repr=False)
    address: str | None = field(default=None, repr=False)
    url: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class SharedContacts:
    """vCards the user shared. `contacts` is kept in memory only, for the caller to seal."""

    count: int
    contacts: tuple[Mapping[str, Any], ...] = field(repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class Reaction:
    message_id: str = field(repr=False)
    emoji: str | None = field(default=None, repr=False)

    @property
    def removed(self) -> bool:
        """Meta omits (or empties) `emoji` when the user takes a reaction back."""
        return self.emoji is None


@dataclass(frozen=True, slots=True)
class OrderItem:
    product_retailer_id: str | None
    quantity: int | None
    item_price: float | None
    currency: str | None


@dataclass(frozen=True, slots=True)
class Order:
    catalog_id: str | None
    text: str = field(repr=False)
    items: tuple[OrderItem, ...]


@dataclass(frozen=True, slots=True)
class System:
    kind: SystemKind
    new_phone: str | None = field(default=None, repr=False)  # E.164 of `system.wa_id`
    body: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class Revoke:
    original_message_id: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class RequestWelcome:
    """The user opened the chat for the first time (welcome-message feature); opens the window."""


@dataclass(frozen=True, slots=True)
class Unsupported:
    """Anything we cannot or will not interpret. `reason` is one of the UNSUPPORTED_* codes."""

    reason: str
    original_type: str | None = None
    error_code: int | None = None


@dataclass(frozen=True, slots=True)
class Edit:
    """The user edited an earlier message; `content` is the new content, parsed like any message."""

    original_message_id: str = field(repr=False)
    content: Content


Content = (
    Text | ButtonReply | ListReply | FlowReply | TemplateButton | Media | Location | SharedContacts
    | Reaction | Order | System | Edit | Revoke | RequestWelcome | Unsupported
)

# Reasons carried by Unsupported.
UNSUPPORTED_BY_META = "unsupported_by_meta"  # type unsupported/unknown, usually error 131051
UNKNOWN_TYPE = "unknown_type"  # a type this connector does not know (poll, voice, ...)
UNKNOWN_INTERACTIVE = "unknown_interactive_type"  # e.g. call_permission_reply
MALFORMED_CONTENT = "malformed_content"  # the type's object is missing or has wrong field types
INVALID_FLOW_RESPONSE = "invalid_flow_response"  # response_json is not a JSON object
NESTED_EDIT = "nested_edit"


# --- around the content -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReferredProduct:
    catalog_id: str | None
    product_retailer_id: str | None


@dataclass(frozen=True, slots=True)
class MessageContext:
    """Reply-to / forwarded / product-inquiry context of an inbound message."""

    reply_to_id: str | None = field(default=None, repr=False)
    forwarded: bool = False
    frequently_forwarded: bool = False
    referred_product: ReferredProduct | None = None


@dataclass(frozen=True, slots=True)
class Referral:
    """Click-to-WhatsApp ad or post that started the chat; `ctwa_clid` is a per-user click id."""

    source_type: str | None
    source_id: str | None
    source_url: str | None = field(default=None, repr=False)
    headline: str | None = field(default=None, repr=False)
    media_type: str | None = None
    ctwa_clid: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class InboundMessage:
    message_id: str = field(repr=False)
    timestamp: int
    phone_number_id: str
    display_phone_number: str | None
    sender: SenderRef
    type: MessageType
    content: Content
    context: MessageContext | None = None
    referral: Referral | None = None
    group_id: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class WhatsAppError:
    """An error object from a webhook (`value.errors`, `statuses[].errors`, `messages[].errors`)."""

    code: int | None
    title: str | None
    details: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class StatusUpdate:
    message_id: str = field(repr=False)
    status: StatusKind
    timestamp: int
    phone_number_id: str | None
    recipient_phone: str | None = field(default=None, repr=False)
    recipient_user_id: str | None = field(default=None, repr=False)
    recipient_type: str | None = None
    errors: tuple[WhatsAppError, ...] = ()
    pricing_category: str | None = None
    pricing_type: str | None = None
    biz_opaque_callback_data: str | None = field(default=None, repr=False)

    @property
    def error_codes(self) -> tuple[int, ...]:
        return tuple(e.code for e in self.errors if e.code is not None)


@dataclass(frozen=True, slots=True)
class PreferenceUpdate:
    """A `user_preferences` change: the user stopped or resumed marketing messages (§11)."""

    phone: str | None = field(repr=False)
    user_id: str | None = field(repr=False)
    category: str | None
    value: PreferenceValue
    timestamp: int | None
    phone_number_id: str | None = None


@dataclass(frozen=True, slots=True)
class Ignored:
    """A change we acknowledge and drop (a webhook field other than messages/user_preferences)."""

    reason: str
    field_name: str | None = None


@dataclass(frozen=True, slots=True)
class ParseIssue:
    """An item skipped while parsing; `where` is its JSON path (entry[0].changes[1].messages[2])."""

    reason: str
    where: str


@dataclass(frozen=True, slots=True)
class ParsedWebhook:
    """Everything one webhook body carried, in body order, duplicates removed."""

    messages: tuple[InboundMessage, ...] = ()
    statuses: tuple[StatusUpdate, ...] = ()
    preferences: tuple[PreferenceUpdate, ...] = ()
    ignored: tuple[Ignored, ...] = ()
    errors: tuple[WhatsAppError, ...] = ()
    issues: tuple[ParseIssue, ...] = ()
