"""Meta's documented rules for `POST /{version}/{phone_number_id}/messages`, as a pure check.

Source: whatsapp-cloud-api.md §7 (outbound API: every body, text, media, location, contacts,
reaction, template, mark-as-read; interactive messages are in rules_interactive.py) with the
limits of connectors/whatsapp/limits.py, and §6 for the codes: 131008 missing parameter, 131009
value not valid, 100 malformed body or wrong type. The first broken rule wins; `details` always
names the field.
"""

from __future__ import annotations

from typing import Any

from connectors.whatsapp import limits
from connectors.whatsapp.simulator.errors import ValidationError, bad_parameter, invalid, missing
from connectors.whatsapp.simulator.rule_fields import (
    MEDIA_TYPES,
    RuleBroken,
    check_media,
    get_list,
    get_obj,
    get_str,
    need_obj,
    need_str,
    one_of,
)
from connectors.whatsapp.simulator.rules_interactive import check_interactive

__all__ = ["ValidationError", "validate_send", "recipient_of", "is_mark_read", "MESSAGE_TYPES"]

MESSAGE_TYPES = (
    "text", "interactive", "location", "contacts", "reaction", "template", *MEDIA_TYPES
)
_TEMPLATE_COMPONENTS = ("header", "body", "footer", "button")
_TEMPLATE_PARAMS = ("text", "currency", "date_time", "image", "document", "video", "location",
                    "payload", "action", "coupon_code")


def is_mark_read(body: dict) -> bool:
    """§7 mark as read: same endpoint, `status: read` + `message_id`, no `to`."""
    return "status" in body and "to" not in body and "recipient" not in body


def recipient_of(body: dict) -> str:
    """The addressee as sent: `to` (phone) or, from 2026, `recipient` (BSUID) (§3.1, §7)."""
    return str(body.get("to") or body.get("recipient") or "")


def validate_send(body: Any) -> ValidationError | None:
    """Check one send request against Meta's rules; None when Meta would accept it (§7)."""
    try:
        _check(body)
    except RuleBroken as broken:
        return broken.error
    return None


def _check(body: Any) -> None:
    if not isinstance(body, dict):
        raise RuleBroken(bad_parameter("The request body must be a JSON object."))
    product = body.get("messaging_product")
    if product is None:
        raise RuleBroken(missing("messaging_product"))
    if product != "whatsapp":
        raise RuleBroken(invalid("messaging_product", "must be one of {whatsapp}."))
    if is_mark_read(body):
        _check_mark_read(body)
        return
    if "to" in body:
        need_str(body, "to", "to")
    elif "recipient" in body:
        need_str(body, "recipient", "recipient")
    else:
        raise RuleBroken(missing("to"))
    if body.get("recipient_type", "individual") not in ("individual", "group"):
        raise RuleBroken(invalid("recipient_type", "must be one of {individual, group}."))
    context = get_obj(body, "context", "context", required=False)
    if context is not None:
        need_str(context, "message_id", "context.message_id")
    mtype = body.get("type", "text")  # §7: type defaults to text
    if mtype not in MESSAGE_TYPES:
        raise RuleBroken(bad_parameter(f"Param type {one_of(MESSAGE_TYPES)}"))
    if mtype == "contacts":
        _check_contacts(get_list(body, "contacts", "contacts"))
    elif mtype in MEDIA_TYPES:
        check_media(need_obj(body, mtype, mtype), mtype, mtype)
    else:
        _CHECKS[mtype](need_obj(body, mtype, mtype), mtype)


def _check_mark_read(body: dict) -> None:
    if body.get("status") != "read":
        raise RuleBroken(invalid("status", "must be one of {read}."))
    need_str(body, "message_id", "message_id")
    typing = get_obj(body, "typing_indicator", "typing_indicator", required=False)
    if typing is not None and typing.get("type") != "text":
        raise RuleBroken(invalid("typing_indicator.type", "must be one of {text}."))


def _check_text(text: dict, path: str) -> None:
    need_str(text, "body", f"{path}.body", max_len=limits.TEXT_BODY_MAX)
    if "preview_url" in text and not isinstance(text["preview_url"], bool):
        raise RuleBroken(bad_parameter(f"Param {path}.preview_url must be a boolean."))


def _check_location(loc: dict, path: str) -> None:
    for coord, bound in (("latitude", 90), ("longitude", 180)):
        value = loc.get(coord)
        if value is None:
            raise RuleBroken(missing(f"{path}.{coord}"))
        try:
            if isinstance(value, bool):
                raise ValueError
            number = float(value)
        except (TypeError, ValueError):
            raise RuleBroken(bad_parameter(f"Param {path}.{coord} must be a number.")) from None
        if not -bound <= number <= bound:
            raise RuleBroken(invalid(f"{path}.{coord}", f"must be between -{bound} and {bound}."))
    get_str(loc, "name", f"{path}.name", required=False, min_len=0)
    get_str(loc, "address", f"{path}.address", required=False, min_len=0)


def _check_contacts(contacts: list) -> None:
    if not contacts:
        raise RuleBroken(invalid("contacts", "must contain at least one contact."))
    for i, contact in enumerate(contacts):
        if not isinstance(contact, dict):
            raise RuleBroken(bad_parameter(f"Param contacts[{i}] must be a JSON object."))
        need_str(need_obj(contact, "name", f"contacts[{i}].name"), "formatted_name",
                 f"contacts[{i}].name.formatted_name")


def _check_reaction(reaction: dict, path: str) -> None:
    need_str(reaction, "message_id", f"{path}.message_id")
    need_str(reaction, "emoji", f"{path}.emoji", min_len=0)  # §7: empty emoji removes it


def _check_template(tpl: dict, path: str) -> None:
    """§7 templates: name + language.code; components typed, buttons with sub_type and index."""
    need_str(tpl, "name", f"{path}.name", max_len=512)
    need_str(need_obj(tpl, "language", f"{path}.language"), "code", f"{path}.language.code")
    if "components" not in tpl:
        return
    for i, comp in enumerate(get_list(tpl, "components", f"{path}.components")):
        cpath = f"{path}.components[{i}]"
        if not isinstance(comp, dict):
            raise RuleBroken(bad_parameter(f"Param {cpath} must be a JSON object."))
        ctype = need_str(comp, "type", f"{cpath}.type")
        if ctype not in _TEMPLATE_COMPONENTS:
            raise RuleBroken(invalid(f"{cpath}.type", one_of(_TEMPLATE_COMPONENTS)))
        if ctype == "button":
            need_str(comp, "sub_type", f"{cpath}.sub_type")
            if comp.get("index") is None:
                raise RuleBroken(missing(f"{cpath}.index"))
            if not str(comp["index"]).isdigit():
                raise RuleBroken(invalid(f"{cpath}.index", "must be a non-negative integer."))
        if "parameters" in comp:
            for j, param in enumerate(get_list(comp, "parameters", f"{cpath}.parameters")):
                _check_template_param(param, f"{cpath}.parameters[{j}]")


def _check_template_param(param: Any, path: str) -> None:
    if not isinstance(param, dict):
        raise RuleBroken(bad_parameter(f"Param {path} must be a JSON object."))
    ptype = need_str(param, "type", f"{path}.type")
    if ptype not in _TEMPLATE_PARAMS:
        raise RuleBroken(invalid(f"{path}.type", one_of(_TEMPLATE_PARAMS)))
    if ptype in ("text", "payload", "coupon_code"):
        need_str(param, ptype, f"{path}.{ptype}")
    elif ptype in ("image", "document", "video"):
        check_media(need_obj(param, ptype, f"{path}.{ptype}"), f"{path}.{ptype}", ptype)
    elif ptype in ("currency", "date_time"):
        value = need_obj(param, ptype, f"{path}.{ptype}")
        need_str(value, "fallback_value", f"{path}.{ptype}.fallback_value")
        if ptype == "currency":
            need_str(value, "code", f"{path}.currency.code")
            if value.get("amount_1000") is None:
                raise RuleBroken(missing(f"{path}.currency.amount_1000"))
            if not isinstance(value["amount_1000"], int) or isinstance(value["amount_1000"], bool):
                raise RuleBroken(
                    bad_parameter(f"Param {path}.currency.amount_1000 must be an integer.")
                )


_CHECKS = {
    "text": _check_text,
    "interactive": check_interactive,
    "location": _check_location,
    "reaction": _check_reaction,
    "template": _check_template,
}
