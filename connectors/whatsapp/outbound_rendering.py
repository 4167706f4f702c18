"""Rasa responses → WhatsApp Cloud API ``POST /messages`` bodies, within Meta's limits.

Pure: a response dict in, request bodies out; the Graph client sends them in order.

Why the choices below (limits from ``limits.py``, shapes from shared whatsapp-cloud-api.md §7 and
the Meta OpenAPI examples in ``fixtures/whatsapp/api-requests``):

- Order follows Rasa's ``OutputChannel.send_response``: text (with buttons or quick replies),
  custom, image, attachment, elements. Only a plain text + image pair is merged into one
  captioned image, which reads the same.
- Text longer than ``TEXT_BODY_MAX`` is split on a paragraph, line or word boundary; a single
  word longer than a whole message is cut hard. Nothing is dropped or reordered.
- Buttons become reply buttons when every rule fits (≤ 3, title ≤ 20, id ≤ 256, unique titles
  and ids, no padding around an id), else a list (≤ 10 rows, title ≤ 24, id ≤ 200), else a
  numbered text ("1. Title") whose number → payload map is returned so the channel can turn a
  typed "2" back into the payload. Titles are never truncated: truncation could make two
  choices look identical, and a numbered text can always carry every choice.
- An interactive body is required. Buttons without text get ``choice_prompt`` (localizable),
  not an error: Rasa allows such responses and the user must still be able to choose. A text
  above ``INTERACTIVE_BODY_MAX`` goes first as plain text; the interactive then carries the
  short prompt.
- What cannot be rendered (a button without a payload, a custom payload for another channel)
  raises ``UnrenderableResponse`` naming the field, never quoting content.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from connectors.whatsapp import limits
from connectors.whatsapp.templates import template_from_custom

__all__ = [
    "DEFAULT_CHOICE_PROMPT",
    "DEFAULT_LIST_BUTTON_LABEL",
    "Recipient",
    "RenderedReply",
    "UnrenderableResponse",
    "mark_read_body",
    "render_response",
    "split_text",
]

DEFAULT_LIST_BUTTON_LABEL = "Options"
DEFAULT_CHOICE_PROMPT = "Please choose an option:"

_PHONE = re.compile(r"\d{6,15}")  # E.164 without "+": at most 15 digits
_BSUID = re.compile(r"[A-Z]{2}\.[A-Za-z0-9]{1,128}")  # M-bsuid: "<ISO alpha-2>.<alnum>"
_ENVELOPE_KEYS = frozenset({"messaging_product", "recipient_type", "to", "recipient", "type"})
_MEDIA_TYPES = ("document", "image", "video", "audio")


class UnrenderableResponse(ValueError):
    """A Rasa response WhatsApp cannot carry; the message names the field, never the content."""


@dataclass(frozen=True, slots=True, repr=False)
class Recipient:
    """Who a message goes to: a phone number (``to``) or, from 2026, a BSUID (``recipient``)."""

    phone: str | None = None
    bsuid: str | None = None

    def __post_init__(self) -> None:
        if (self.phone is None) == (self.bsuid is None):
            raise ValueError("Recipient needs exactly one of phone or bsuid")
        if self.phone is not None and not _PHONE.fullmatch(self.phone):
            raise ValueError("Recipient phone must be 6-15 digits, no '+' or spaces")
        if self.bsuid is not None and not _BSUID.fullmatch(self.bsuid):
            raise ValueError("Recipient bsuid must look like 'US.<alphanumerics>'")

    def __repr__(self) -> str:  # never show the identifier
        return "Recipient(phone=***)" if self.phone else "Recipient(bsuid=***)"

    def envelope(self, message_type: str) -> dict[str, Any]:
        """The keys every ``POST /messages`` body starts with."""
        address = {"to": self.phone} if self.phone is not None else {"recipient": self.bsuid}
        return {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            **address,
            "type": message_type,
        }


@dataclass(frozen=True, repr=False)
class RenderedReply:
    """Bodies to send in order, and the number → payload map of any numbered-text choices."""

    bodies: list[dict[str, Any]]
    numbered_choices: dict[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:  # bodies hold the recipient and texts: show counts only
        counts = f"bodies=<{len(self.bodies)}>, numbered_choices=<{len(self.numbered_choices)}>"
        return f"RenderedReply({counts})"


def render_response(
    recipient: Recipient,
    response: Mapping[str, Any],
    *,
    list_button_label: str = DEFAULT_LIST_BUTTON_LABEL,
    choice_prompt: str = DEFAULT_CHOICE_PROMPT,
) -> RenderedReply:
    """Render one Rasa response (``text``, ``buttons``, ``quick_replies``, ``image``,
    ``attachment``, ``custom``, ``elements``) into Cloud API bodies.

    Requires ``1 <= len(list_button_label) <= LIST_BUTTON_LABEL_MAX`` and a non-empty
    ``choice_prompt`` of at most ``INTERACTIVE_BODY_MAX`` characters.
    """
    if not 1 <= len(list_button_label.strip()) <= limits.LIST_BUTTON_LABEL_MAX:
        raise ValueError(f"list_button_label: 1 to {limits.LIST_BUTTON_LABEL_MAX} characters")
    if not 1 <= len(choice_prompt.strip()) <= limits.INTERACTIVE_BODY_MAX:
        raise ValueError(f"choice_prompt: 1 to {limits.INTERACTIVE_BODY_MAX} characters")
    if not isinstance(response, Mapping):
        raise UnrenderableResponse("response: must be a mapping")
    out = _Renderer(recipient, list_button_label, choice_prompt)
    text = _text_field(response, "text")
    choices = response.get("quick_replies") or response.get("buttons") or []
    custom, image = response.get("custom"), response.get("image")
    caption = None
    plain_image = isinstance(image, str) and not choices and not custom
    if plain_image and len(text.strip()) <= limits.MEDIA_CAPTION_MAX:
        caption = text.strip() or None
    if choices:
        out.choices(text, choices, "buttons")
    elif caption is None:
        out.text(text)
    if custom:
        out.custom(custom)
    if image:
        out.media("image", image, caption)
    if response.get("attachment"):
        out.media("document", response["attachment"], None)
    for index, element in enumerate(response.get("elements") or []):
        out.element(index, element)
    return RenderedReply(out.bodies, out.numbered)


def mark_read_body(message_id: str, typing: bool = False) -> dict[str, Any]:
    """Body that marks ``message_id`` (and all earlier ones) read, optionally showing typing.

    The typing indicator lasts until we reply or 25 s: only ask for it when a reply follows.
    """
    if not isinstance(message_id, str) or not message_id.strip():
        raise ValueError("message_id: must be a non-empty string")
    body: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": message_id,
    }
    if typing:
        body["typing_indicator"] = {"type": "text"}
    return body


def split_text(text: str, limit: int = limits.TEXT_BODY_MAX) -> list[str]:
    """Split ``text`` into stripped chunks of at most ``limit`` characters, in order.

    Prefers a paragraph break, then a line break (either only in the second half of the
    window, so chunks stay full), then any whitespace; cuts a word only when one word is
    longer than ``limit``. Requires ``limit >= 1``.
    """
    if limit < 1:
        raise ValueError("split_text limit must be >= 1")
    chunks: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        cut = _cut_point(rest, limit)
        chunks.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        chunks.append(rest)
    return chunks


def _cut_point(text: str, limit: int) -> int:
    window = text[: limit + 1]  # whitespace right at index ``limit`` still makes a full chunk
    for separator in ("\n\n", "\n"):
        at = window.rfind(separator)
        if at >= limit // 2:
            return at
    for at in range(limit, 0, -1):
        if window[at].isspace():
            return at
    return limit


class _Renderer:
    """Accumulates bodies and numbered choices for one response."""

    def __init__(self, recipient: Recipient, list_label: str, prompt: str) -> None:
        self.recipient = recipient
        self.list_label = list_label.strip()
        self.prompt = prompt.strip()
        self.bodies: list[dict[str, Any]] = []
        self.numbered: dict[str, str] = {}

    def text(self, text: str) -> None:
        for chunk in split_text(text):
            body = self.recipient.envelope("text")
            body["text"] = {"preview_url": False, "body": chunk}
            self.bodies.append(body)

    def choices(self, text: str, buttons: object, where: str) -> None:
        if not isinstance(buttons, Sequence) or isinstance(buttons, str):
            raise UnrenderableResponse(f"{where}: must be a list")
        items, links = _choice_items(buttons, where)
        body = "\n".join([text.strip(), *links]).strip()
        if not items:
            self.text(body)
            return
        layout = _layout(items)
        if layout == "numbered":
            start = len(self.numbered) + 1
            lines = [f"{start + i}. {title}" for i, (title, _) in enumerate(items)]
            self.text("\n\n".join([body or self.prompt, "\n".join(lines)]))
            self.numbered.update({str(start + i): p for i, (_, p) in enumerate(items)})
            return
        if len(body) > limits.INTERACTIVE_BODY_MAX:
            self.text(body)
            body = ""
        interactive: dict[str, Any] = {"type": layout, "body": {"text": body or self.prompt}}
        if layout == "button":
            replies = [{"type": "reply", "reply": {"id": p, "title": t}} for t, p in items]
            interactive["action"] = {"buttons": replies}
        else:
            rows = [{"id": p, "title": t} for t, p in items]
            interactive["action"] = {"button": self.list_label, "sections": [{"rows": rows}]}
        self.bodies.append({**self.recipient.envelope("interactive"), "interactive": interactive})

    def custom(self, custom: object) -> None:
        if not isinstance(custom, Mapping):
            raise UnrenderableResponse("custom: must be a mapping")
        if "template" in custom:
            self.bodies.append(template_from_custom(self.recipient, custom["template"]))
            return
        kind = custom.get("type")
        if not isinstance(kind, str) or not isinstance(custom.get(kind), (Mapping, list)):
            raise UnrenderableResponse(
                "custom: needs 'template', or 'type' and the object it names"
            )
        # Our envelope wins: a custom payload may not redirect the message to someone else.
        extra = {k: v for k, v in custom.items() if k not in _ENVELOPE_KEYS}
        self.bodies.append({**self.recipient.envelope(kind), **extra})

    def media(self, default_kind: str, spec: object, caption: str | None) -> None:
        where = "image" if default_kind == "image" else "attachment"
        if isinstance(spec, str):
            spec = {"link": spec}
        if not isinstance(spec, Mapping):
            raise UnrenderableResponse(f"{where}: a URL or a mapping with 'url'")
        kind = spec.get("type", default_kind)
        if kind not in _MEDIA_TYPES:
            raise UnrenderableResponse(f"{where}.type: one of {list(_MEDIA_TYPES)}")
        link = spec.get("link") or spec.get("url")
        if not isinstance(link, str) or not link.startswith(("https://", "http://")):
            raise UnrenderableResponse(f"{where}: link must be an http(s) URL")
        media: dict[str, Any] = {"link": link}
        caption = caption or _text_field(spec, "caption").strip() or None
        if caption and kind != "audio":  # audio has no caption
            if len(caption) > limits.MEDIA_CAPTION_MAX:
                self.text(caption)
            else:
                media["caption"] = caption
        if kind == "document":
            media["filename"] = _text_field(spec, "filename").strip() or _filename(link)
        self.bodies.append({**self.recipient.envelope(kind), kind: media})

    def element(self, index: int, element: object) -> None:
        """Rasa carousel element: WhatsApp has no carousel, so image, then text with choices."""
        if not isinstance(element, Mapping):
            raise UnrenderableResponse(f"elements[{index}]: must be a mapping")
        if element.get("image_url"):
            self.media("image", element["image_url"], None)
        text = "\n".join(
            t for t in (_text_field(element, "title"), _text_field(element, "subtitle")) if t
        )
        self.choices(text, element.get("buttons") or [], f"elements[{index}].buttons")


def _choice_items(buttons: Sequence[object], where: str) -> tuple[list[tuple[str, str]], list[str]]:
    """(title, payload) pairs, and "title: url" lines for link buttons (no payload to send)."""
    items: list[tuple[str, str]] = []
    links: list[str] = []
    for i, button in enumerate(buttons):
        if not isinstance(button, Mapping):
            raise UnrenderableResponse(f"{where}[{i}]: must be a mapping")
        title = _text_field(button, "title").strip()
        if not title:
            raise UnrenderableResponse(f"{where}[{i}].title: must be a non-empty string")
        payload, url = button.get("payload"), button.get("url")
        if isinstance(payload, str) and payload:
            items.append((title, payload))
        elif payload is None and isinstance(url, str) and url:
            links.append(f"{title}: {url}")
        else:
            raise UnrenderableResponse(f"{where}[{i}].payload: must be a non-empty string")
    return items, links


def _layout(items: list[tuple[str, str]]) -> str:
    """'button', 'list' or 'numbered': the richest form every item fits."""
    titles = [t.casefold() for t, _ in items]
    ids = [p for _, p in items]
    distinct = len(set(titles)) == len(titles) and len(set(ids)) == len(ids)
    if not distinct or any(p != p.strip() for p in ids):
        return "numbered"
    longest_title = max(len(t) for t, _ in items)
    longest_id = max(len(p) for p in ids)
    if (
        len(items) <= limits.REPLY_BUTTONS_MAX
        and longest_title <= limits.REPLY_BUTTON_TITLE_MAX
        and longest_id <= limits.REPLY_BUTTON_ID_MAX
    ):
        return "button"
    if (
        len(items) <= limits.LIST_ROWS_MAX
        and longest_title <= limits.LIST_ROW_TITLE_MAX
        and longest_id <= limits.LIST_ROW_ID_MAX
    ):
        return "list"
    return "numbered"


def _text_field(mapping: Mapping[str, Any], key: str) -> str:
    value = mapping.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise UnrenderableResponse(f"{key}: must be a string")
    return value


def _filename(link: str) -> str:
    name = unquote(urlsplit(link).path.rsplit("/", 1)[-1]).strip()
    return name or "document"
