"""One inbound `messages[]` item → its typed content, context and referral (§4).

Split from webhook_parser (which walks the envelope) because each message type has its own object.
Every function is total: wrong field types degrade to `Unsupported(MALFORMED_CONTENT)` or a None
field, never an exception, so one odd message never costs the rest of the batch.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

from connectors.whatsapp.sender_identity import normalize_phone
from connectors.whatsapp.webhook_models import (
    INVALID_FLOW_RESPONSE,
    MALFORMED_CONTENT,
    NESTED_EDIT,
    UNKNOWN_INTERACTIVE,
    UNKNOWN_TYPE,
    UNSUPPORTED_BY_META,
    ButtonReply,
    Content,
    Edit,
    FlowReply,
    ListReply,
    Location,
    Media,
    MediaKind,
    MessageContext,
    MessageType,
    Order,
    OrderItem,
    Reaction,
    Referral,
    ReferredProduct,
    RequestWelcome,
    Revoke,
    SharedContacts,
    System,
    SystemKind,
    TemplateButton,
    Text,
    Unsupported,
    WhatsAppError,
)

# Type names are echoed into Unsupported.original_type and metadata: only plain identifiers.
_TYPE_NAME_RE = re.compile(r"[a-z][a-z0-9_]{0,39}")


def string(value: Any) -> str | None:
    """`value` if it is a non-empty string, else None."""
    return value if isinstance(value, str) and value else None


def integer(value: Any) -> int | None:
    """An int from an int or a decimal string (Meta sends ids and timestamps as strings)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return None


def type_name(value: Any) -> str | None:
    return value if isinstance(value, str) and _TYPE_NAME_RE.fullmatch(value) else None


def parse_errors(value: Any) -> tuple[WhatsAppError, ...]:
    """Meta error objects: {code, title, message, error_data.details}. Non-dicts are skipped."""
    if not isinstance(value, list):
        return ()
    out = []
    for item in value:
        if isinstance(item, Mapping):
            data = item.get("error_data")
            details = data.get("details") if isinstance(data, Mapping) else item.get("details")
            out.append(
                WhatsAppError(
                    code=integer(item.get("code")),
                    title=string(item.get("title")) or string(item.get("message")),
                    details=string(details),
                )
            )
    return tuple(out)


def parse_content(
    msg: Mapping[str, Any], *, allow_edit: bool = True
) -> tuple[MessageType, Content]:
    """The message's wire type and typed content."""
    raw_type = msg.get("type")
    mtype = MessageType(raw_type) if isinstance(raw_type, str) else MessageType.UNKNOWN
    body = msg.get(raw_type) if isinstance(raw_type, str) else None
    if raw_type in ("unsupported", "unknown"):
        return mtype, _unsupported_by_meta(msg)
    if mtype is MessageType.UNKNOWN:
        return mtype, Unsupported(UNKNOWN_TYPE, original_type=type_name(raw_type))
    if mtype is MessageType.REQUEST_WELCOME:
        return mtype, RequestWelcome()
    if mtype is MessageType.EDIT and not allow_edit:
        return mtype, Unsupported(NESTED_EDIT, original_type="edit")
    if not isinstance(body, Mapping) and mtype is not MessageType.CONTACTS:
        return mtype, Unsupported(MALFORMED_CONTENT, original_type=mtype.value)
    parser = _PARSERS.get(mtype)
    content = parser(body) if parser else _media(mtype.value, body)
    if content is None:
        content = Unsupported(MALFORMED_CONTENT, original_type=mtype.value)
    return mtype, content


def _unsupported_by_meta(msg: Mapping[str, Any]) -> Unsupported:
    errors = parse_errors(msg.get("errors"))
    detail = msg.get("unsupported")
    original = type_name(detail.get("type")) if isinstance(detail, Mapping) else None
    return Unsupported(
        UNSUPPORTED_BY_META, original_type=original, error_code=errors[0].code if errors else None
    )


def _text(body: Mapping[str, Any]) -> Content | None:
    text = body.get("body")
    return Text(text) if isinstance(text, str) else None


def _interactive(body: Mapping[str, Any]) -> Content | None:
    kind = body.get("type")
    reply = body.get(kind) if isinstance(kind, str) else None
    if not isinstance(kind, str):
        return None
    if kind not in ("button_reply", "list_reply", "nfm_reply"):
        return Unsupported(UNKNOWN_INTERACTIVE, original_type=type_name(kind))
    if not isinstance(reply, Mapping):
        return None
    if kind == "nfm_reply":
        return _flow(reply)
    reply_id, title = string(reply.get("id")), reply.get("title")
    if reply_id is None:
        return None
    title = title if isinstance(title, str) else ""
    if kind == "button_reply":
        return ButtonReply(id=reply_id, title=title)
    return ListReply(id=reply_id, title=title, description=string(reply.get("description")))


def _flow(reply: Mapping[str, Any]) -> Content:
    raw = reply.get("response_json")
    try:
        response = json.loads(raw) if isinstance(raw, str) else None
    except (ValueError, RecursionError):
        response = None
    if not isinstance(response, dict):
        return Unsupported(INVALID_FLOW_RESPONSE, original_type="nfm_reply")
    return FlowReply(
        response=response, body=string(reply.get("body")), name=string(reply.get("name"))
    )


def _button(body: Mapping[str, Any]) -> Content | None:
    payload, text = string(body.get("payload")), string(body.get("text"))
    if payload is None and text is None:
        return None
    return TemplateButton(payload=payload or text or "", text=text or "")


def _media(kind: str, body: Mapping[str, Any]) -> Content | None:
    media_id = string(body.get("id"))
    if media_id is None:
        return None
    return Media(
        kind=MediaKind(kind),
        media_id=media_id,
        mime_type=string(body.get("mime_type")),
        sha256=string(body.get("sha256")),
        caption=string(body.get("caption")),
        filename=string(body.get("filename")),
        voice=body.get("voice") is True,
        animated=body.get("animated") is True,
        url=string(body.get("url")),
    )


def _coordinate(value: Any, bound: float) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) and -bound <= number <= bound else None


def _location(body: Mapping[str, Any]) -> Content | None:
    lat, lon = _coordinate(body.get("latitude"), 90), _coordinate(body.get("longitude"), 180)
    if lat is None or lon is None:
        return None
    return Location(
        latitude=lat,
        longitude=lon,
        name=string(body.get("name")),
        address=string(body.get("address")),
        url=string(body.get("url")),
    )


def _contacts(body: Any) -> Content | None:
    if not isinstance(body, list):
        return None
    cards = tuple(card for card in body if isinstance(card, Mapping))
    return SharedContacts(count=len(cards), contacts=cards)


def _reaction(body: Mapping[str, Any]) -> Content | None:
    target = string(body.get("message_id"))
    return Reaction(message_id=target, emoji=string(body.get("emoji"))) if target else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _order(body: Mapping[str, Any]) -> Content | None:
    items = body.get("product_items")
    if not isinstance(items, list):
        return None
    parsed = tuple(
        OrderItem(
            product_retailer_id=string(item.get("product_retailer_id")),
            quantity=integer(item.get("quantity")),
            item_price=_number(item.get("item_price")),
            currency=string(item.get("currency")),
        )
        for item in items
        if isinstance(item, Mapping)
    )
    text = body.get("text")
    return Order(
        catalog_id=string(body.get("catalog_id")),
        text=text if isinstance(text, str) else "",
        items=parsed,
    )


def _system(body: Mapping[str, Any]) -> Content | None:
    kind = body.get("type")
    return System(
        kind=SystemKind(kind) if isinstance(kind, str) else SystemKind.UNKNOWN,
        new_phone=normalize_phone(body.get("wa_id")),
        body=string(body.get("body")),
    )


def _edit(body: Mapping[str, Any]) -> Content | None:
    original, inner = string(body.get("original_message_id")), body.get("message")
    if original is None or not isinstance(inner, Mapping):
        return None
    _, content = parse_content(inner, allow_edit=False)
    return Edit(original_message_id=original, content=content)


def _revoke(body: Mapping[str, Any]) -> Content | None:
    original = string(body.get("original_message_id"))
    return Revoke(original_message_id=original) if original else None


_PARSERS = {
    MessageType.TEXT: _text,
    MessageType.INTERACTIVE: _interactive,
    MessageType.BUTTON: _button,
    MessageType.LOCATION: _location,
    MessageType.CONTACTS: _contacts,
    MessageType.REACTION: _reaction,
    MessageType.ORDER: _order,
    MessageType.SYSTEM: _system,
    MessageType.EDIT: _edit,
    MessageType.REVOKE: _revoke,
}


def parse_context(value: Any) -> MessageContext | None:
    if not isinstance(value, Mapping):
        return None
    product = value.get("referred_product")
    referred = (
        ReferredProduct(
            catalog_id=string(product.get("catalog_id")),
            product_retailer_id=string(product.get("product_retailer_id")),
        )
        if isinstance(product, Mapping)
        else None
    )
    return MessageContext(
        reply_to_id=string(value.get("id")),
        forwarded=value.get("forwarded") is True,
        frequently_forwarded=value.get("frequently_forwarded") is True,
        referred_product=referred,
    )


def parse_referral(value: Any) -> Referral | None:
    if not isinstance(value, Mapping):
        return None
    return Referral(
        source_type=string(value.get("source_type")),
        source_id=string(value.get("source_id")),
        source_url=string(value.get("source_url")),
        headline=string(value.get("headline")),
        media_type=string(value.get("media_type")),
        ctwa_clid=string(value.get("ctwa_clid")),
    )
