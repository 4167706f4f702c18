"""What a simulated user does, from the control API's JSON to a §4 message content.

Source: whatsapp-cloud-api.md §4 (message objects per type; `context.from` + `context.id` when the
user taps a button on one of the business's messages). Pure: media bytes and ids are passed in.

Accepted shapes for `POST /_sim/users/{user}/send` (exactly one of):
    {"text": "hi"}
    {"button_reply": {"id": "/affirm", "title": "Yes"}}
    {"list_reply": {"id": "row1", "title": "Row 1", "description": "..."}}
    {"button": {"payload": "STOP_PROMOS", "text": "Stop promotions"}}     (template quick reply)
    {"type": "image"|"video"|"audio"|"document"|"sticker", "caption"?, "filename"?, "mime_type"?,
     "voice"?, "animated"?, "data_base64"?: <the file's bytes; default a short placeholder>}
    {"type": "location", "latitude": 45.46, "longitude": 9.19, "name"?, "address"?}
    {"type": "contacts", "contacts"?: [...]}
    {"type": "reaction", "message_id"?: <bot wamid, default the last>, "emoji"?: "👍"}
    {"type": "system", "new_wa_id": "393330000000"}
    {"type": "unsupported", "unsupported_type"?: "poll"}
    {"message": {<raw §4 message object; from/id/timestamp are filled in>}}
"""

from __future__ import annotations

from typing import Any

from connectors.whatsapp.simulator import webhooks as wh
from connectors.whatsapp.simulator.rule_fields import MEDIA_TYPES
from connectors.whatsapp.simulator.state import SentMessage

TYPES = (*MEDIA_TYPES, "location", "contacts", "reaction", "system", "unsupported")
_DEFAULT_CARD = {"name": {"formatted_name": "Ada Lovelace", "first_name": "Ada"},
                 "phones": [{"phone": "+1 555 0100", "type": "MOBILE"}]}


class UserActionError(ValueError):
    """A control request that does not describe a user action; the message names the field."""


def _need(spec: dict, key: str, path: str) -> Any:
    if key not in spec or spec[key] in (None, ""):
        raise UserActionError(f"{path}.{key}: required")
    return spec[key]


def content_of(spec: Any, *, last_bot_message_id: str | None = None,
               wa_id: str | None = None, name: str = "User") -> dict:
    """The §4 content {"type", <type>: ...} for one control request; media come back with a
    placeholder id/sha256 the caller replaces (see `needs_media`)."""
    if not isinstance(spec, dict):
        raise UserActionError("body: expected a JSON object")
    kinds = [k for k in ("text", "button_reply", "list_reply", "button", "type", "message")
             if k in spec]
    if len(kinds) != 1:
        raise UserActionError("body: give exactly one of text, button_reply, list_reply, button, "
                              "type, message")
    kind = kinds[0]
    if kind == "text":
        if not isinstance(spec["text"], str) or not spec["text"]:
            raise UserActionError("text: expected a non-empty string")
        return wh.text(spec["text"])
    if kind in ("button_reply", "list_reply", "button"):
        inner = spec[kind]
        if not isinstance(inner, dict):
            raise UserActionError(f"{kind}: expected an object")
        if kind == "button_reply":
            return wh.button_reply(str(_need(inner, "id", kind)), str(_need(inner, "title", kind)))
        if kind == "list_reply":
            return wh.list_reply(str(_need(inner, "id", kind)), str(_need(inner, "title", kind)),
                                 inner.get("description"))
        return wh.template_button(str(_need(inner, "payload", kind)),
                                  str(inner.get("text") or inner["payload"]))
    if kind == "message":
        raw = spec["message"]
        if not isinstance(raw, dict) or not isinstance(raw.get("type"), str):
            raise UserActionError("message: expected an object with a string 'type'")
        return {k: v for k, v in raw.items() if k not in ("from", "id", "timestamp")}
    return _typed(spec, last_bot_message_id, wa_id, name)


def _typed(spec: dict, last_bot_message_id: str | None, wa_id: str | None, name: str) -> dict:
    mtype = spec["type"]
    if mtype not in TYPES:
        raise UserActionError(f"type: expected one of {', '.join(TYPES)}, got {mtype!r}")
    if mtype in MEDIA_TYPES:
        return wh.media(mtype, "", "", caption=spec.get("caption"), filename=spec.get("filename"),
                        mime_type=spec.get("mime_type"), voice=bool(spec.get("voice", True)),
                        animated=bool(spec.get("animated", False)))
    if mtype == "location":
        try:
            lat = float(_need(spec, "latitude", "body"))
            lon = float(_need(spec, "longitude", "body"))
        except (TypeError, ValueError):
            raise UserActionError("latitude/longitude: expected numbers") from None
        return wh.location(lat, lon, spec.get("name"), spec.get("address"))
    if mtype == "contacts":
        cards = spec.get("contacts", [_DEFAULT_CARD])
        if not isinstance(cards, list) or not cards:
            raise UserActionError("contacts: expected a non-empty list")
        return wh.contacts(cards)
    if mtype == "reaction":
        target = spec.get("message_id") or last_bot_message_id
        if not target:
            raise UserActionError("message_id: required (the bot has sent nothing to react to)")
        return wh.reaction(str(target), spec.get("emoji", "\U0001f44d"))
    if mtype == "system":
        if not wa_id:
            raise UserActionError("type: system number changes need a user with a phone number")
        return wh.number_change(wa_id, str(_need(spec, "new_wa_id", "body")), name)
    return wh.unsupported(str(spec.get("unsupported_type", "unknown")))


def needs_media(content: dict) -> str | None:
    """The media kind when the content still needs an id and bytes, else None."""
    kind = content.get("type")
    return kind if kind in MEDIA_TYPES and content[kind].get("id") == "" else None


def reply_context(content: dict, outbox: list[SentMessage], business_number: str) -> dict | None:
    """§4: a button or list tap quotes the business message that carried it."""
    inter = content.get("interactive") or {}
    reply = inter.get("button_reply") or inter.get("list_reply")
    if reply is None and content.get("type") == "button":
        target = next((m for m in reversed(outbox) if m.type == "template"), None)
    elif reply is not None:
        target = next((m for m in reversed(outbox) if reply["id"] in _choice_ids(m.body)), None)
    else:
        return None
    return {"from": business_number, "id": target.id} if target else None


def _choice_ids(body: dict) -> set[str]:
    action = (body.get("interactive") or {}).get("action") or {}
    ids = {b.get("reply", {}).get("id") for b in action.get("buttons", []) if isinstance(b, dict)}
    for section in action.get("sections", []):
        ids |= {r.get("id") for r in section.get("rows", []) if isinstance(r, dict)}
    return ids
