"""Template messages: the only kind WhatsApp delivers outside the 24-hour customer window.

Pure builders that validate what Meta would otherwise refuse later (often asynchronously, in a
``failed`` status after a 200), so a bad template call fails here, at once, with the field and
the rule named. Shapes follow shared whatsapp-cloud-api.md §7 and the Meta OpenAPI examples in
``fixtures/whatsapp/api-requests/meta-openapi__send-message-template-*.json``.

Positional parameters fill ``{{1}}``, ``{{2}}``… in order; templates created with *named*
parameters take ``parameter_name`` and may come in any order. A template uses one style or the
other, never both. Error messages never include parameter values: they are often personal data.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from connectors.whatsapp import limits

if TYPE_CHECKING:
    from connectors.whatsapp.outbound_rendering import Recipient

__all__ = ["TemplateError", "template_from_custom", "template_message", "template_object"]

_NAME = re.compile(r"[a-z0-9_]+")
# Meta's language codes: "it", "en_US", "pt_BR", "zh_HK", "fil", "es_LA"…
_LANGUAGE = re.compile(r"[a-z]{2,3}(_[A-Z]{2,3})?")
_PARAM_NAME = re.compile(r"[a-z0-9_]+")
_TOO_MANY_SPACES = re.compile(f" {{{limits.TEMPLATE_PARAM_MAX_CONSECUTIVE_SPACES + 1},}}")
_MEDIA_HEADER_TYPES = ("image", "video", "document")
_RICH_PARAM_TYPES = ("currency", "date_time")
_BUILDER_KEYS = frozenset({"name", "language", "body_params", "named_params", "header", "buttons"})


class TemplateError(ValueError):
    """A template call Meta would refuse; the message names the field and the rule, no values."""


def template_object(
    name: str,
    language_code: str,
    *,
    body_params: Sequence[str | Mapping[str, Any]] = (),
    named_params: Mapping[str, str] | None = None,
    header: str | Mapping[str, Any] | None = None,
    buttons: Sequence[str] = (),
) -> dict[str, Any]:
    """The ``template`` object of a template message (without recipient and envelope)."""
    _check_name(name)
    _check_language(language_code)
    if body_params and named_params:
        raise TemplateError("template body: use body_params or named_params, not both")
    components: list[dict[str, Any]] = []
    if header is not None:
        components.append({"type": "header", "parameters": [_header_param(header)]})
    params = [_body_param(i, p) for i, p in enumerate(body_params)]
    params += [_named_param(k, v) for k, v in (named_params or {}).items()]
    if params:
        components.append({"type": "body", "parameters": params})
    if len(buttons) > limits.TEMPLATE_BUTTONS_MAX:
        raise TemplateError(f"template buttons: at most {limits.TEMPLATE_BUTTONS_MAX} allowed")
    for index, payload in enumerate(buttons):
        if not isinstance(payload, str) or not payload.strip():
            raise TemplateError(f"template buttons[{index}]: payload must be a non-empty string")
        components.append(
            {
                "type": "button",
                "sub_type": "quick_reply",
                "index": index,
                "parameters": [{"type": "payload", "payload": payload}],
            }
        )
    template: dict[str, Any] = {"name": name, "language": {"code": language_code}}
    if components:
        template["components"] = components
    return template


def template_message(
    recipient: Recipient,
    name: str,
    language_code: str,
    *,
    body_params: Sequence[str | Mapping[str, Any]] = (),
    named_params: Mapping[str, str] | None = None,
    header: str | Mapping[str, Any] | None = None,
    buttons: Sequence[str] = (),
) -> dict[str, Any]:
    """A complete ``POST /messages`` body sending template ``name`` in ``language_code``."""
    template = template_object(
        name,
        language_code,
        body_params=body_params,
        named_params=named_params,
        header=header,
        buttons=buttons,
    )
    return {**recipient.envelope("template"), "template": template}


def template_from_custom(recipient: Recipient, spec: Mapping[str, Any]) -> dict[str, Any]:
    """A template message from a Rasa ``custom: {template: ...}`` response.

    Two forms: Meta's own template object (``language: {code: ...}`` and optional
    ``components``), checked for name and language then passed through; or our builder's
    keyword arguments (``name``, ``language``, ``body_params``, ``named_params``, ``header``,
    ``buttons``), with unknown keys rejected.
    """
    if not isinstance(spec, Mapping):
        raise TemplateError("custom.template: must be a mapping")
    language = spec.get("language")
    if isinstance(language, Mapping):
        name = spec.get("name")
        _check_name(name)
        _check_language(language.get("code"))
        components = spec.get("components", [])
        if not isinstance(components, list):
            raise TemplateError("custom.template.components: must be a list")
        return {**recipient.envelope("template"), "template": dict(spec)}
    unknown = sorted(set(spec) - _BUILDER_KEYS)
    if unknown:
        raise TemplateError(
            f"custom.template: unknown keys {unknown}; allowed: {sorted(_BUILDER_KEYS)}"
        )
    return template_message(
        recipient,
        spec.get("name"),  # type: ignore[arg-type]  # validated inside
        language,  # type: ignore[arg-type]
        body_params=spec.get("body_params") or (),
        named_params=spec.get("named_params"),
        header=spec.get("header"),
        buttons=spec.get("buttons") or (),
    )


def _check_name(name: object) -> None:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise TemplateError("template name: must match [a-z0-9_]+")
    if len(name) > limits.TEMPLATE_NAME_MAX:
        raise TemplateError(f"template name: at most {limits.TEMPLATE_NAME_MAX} characters")


def _check_language(code: object) -> None:
    if not isinstance(code, str) or not _LANGUAGE.fullmatch(code):
        raise TemplateError("template language: must look like 'it' or 'en_US'")


def _check_text(field: str, text: object) -> str:
    if not isinstance(text, str) or not text.strip():
        raise TemplateError(f"{field}: must be a non-empty string")
    if "\n" in text or "\t" in text or _TOO_MANY_SPACES.search(text):
        raise TemplateError(
            f"{field}: no newline, tab or more than "
            f"{limits.TEMPLATE_PARAM_MAX_CONSECUTIVE_SPACES} consecutive spaces (Meta 132018)"
        )
    return text


def _body_param(index: int, param: str | Mapping[str, Any]) -> dict[str, Any]:
    field = f"template body_params[{index}]"
    if isinstance(param, str):
        return {"type": "text", "text": _check_text(field, param)}
    if isinstance(param, Mapping):
        kind = param.get("type")
        if kind == "text":
            _check_text(field, param.get("text"))
            return dict(param)
        if kind in _RICH_PARAM_TYPES and isinstance(param.get(kind), Mapping):
            if not param[kind].get("fallback_value"):
                raise TemplateError(f"{field}: {kind} needs a fallback_value")
            return dict(param)
    raise TemplateError(f"{field}: a string, or a text/currency/date_time parameter object")


def _named_param(name: object, text: object) -> dict[str, Any]:
    if not isinstance(name, str) or not _PARAM_NAME.fullmatch(name):
        raise TemplateError("template named_params: names must match [a-z0-9_]+")
    return {
        "type": "text",
        "parameter_name": name,
        "text": _check_text(f"template named_params[{name}]", text),
    }


def _header_param(header: str | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(header, str):
        return {"type": "text", "text": _check_text("template header", header)}
    if isinstance(header, Mapping):
        kind = header.get("type")
        if kind in _MEDIA_HEADER_TYPES:
            media = header.get(kind)
            if isinstance(media, Mapping) and (media.get("link") or media.get("id")):
                return {"type": kind, kind: dict(media)}
            link = header.get("link")
            if isinstance(link, str) and link.startswith(("https://", "http://")):
                return {"type": kind, kind: {"link": link}}
    raise TemplateError(
        "template header: a text, or {type: image|video|document, link: http(s) URL}"
    )
