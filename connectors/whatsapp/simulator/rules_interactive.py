"""Meta's rules for interactive messages: reply buttons, lists, CTA URL buttons.

Source: whatsapp-cloud-api.md §7 (M-btn: ≤ 3 buttons, id ≤ 256 without leading/trailing spaces,
title ≤ 20 and unique; M-list: button label ≤ 20, ≤ 10 sections, ≤ 10 rows in total, section
title ≤ 24 and required when > 1 section, row id ≤ 200 and unique, title ≤ 24, description ≤ 72;
M-cta: display_text ≤ 20 and a url; body ≤ 1,024, header text ≤ 60, footer ≤ 60).
Numbers come from connectors/whatsapp/limits.py.
"""

from __future__ import annotations

from connectors.whatsapp import limits
from connectors.whatsapp.simulator.errors import bad_parameter, invalid
from connectors.whatsapp.simulator.rule_fields import (
    RuleBroken,
    check_media,
    get_list,
    get_obj,
    need_obj,
    need_str,
    one_of,
)

INTERACTIVE_TYPES = ("button", "list", "cta_url")
_HEADER_TYPES = ("text", "image", "video", "document")


def check_interactive(inter: dict, path: str) -> None:
    """Dispatch on `interactive.type`, after the parts every interactive message shares."""
    itype = need_str(inter, "type", f"{path}.type")
    if itype not in INTERACTIVE_TYPES:
        raise RuleBroken(invalid(f"{path}.type", one_of(INTERACTIVE_TYPES)))
    body = need_obj(inter, "body", f"{path}.body")
    need_str(body, "text", f"{path}.body.text", max_len=limits.INTERACTIVE_BODY_MAX)
    _check_header(inter, path, itype)
    footer = get_obj(inter, "footer", f"{path}.footer", required=False)
    if footer is not None:
        need_str(footer, "text", f"{path}.footer.text", max_len=limits.INTERACTIVE_FOOTER_MAX)
    action = need_obj(inter, "action", f"{path}.action")
    {"button": _check_buttons, "list": _check_list, "cta_url": _check_cta}[itype](
        action, f"{path}.action"
    )


def _check_header(inter: dict, path: str, itype: str) -> None:
    header = get_obj(inter, "header", f"{path}.header", required=False)
    if header is None:
        return
    htype = need_str(header, "type", f"{path}.header.type")
    if htype not in _HEADER_TYPES:
        raise RuleBroken(invalid(f"{path}.header.type", one_of(_HEADER_TYPES)))
    if itype == "list" and htype != "text":
        raise RuleBroken(invalid(f"{path}.header.type", "must be text for list messages."))
    if htype == "text":
        need_str(header, "text", f"{path}.header.text", max_len=limits.INTERACTIVE_HEADER_TEXT_MAX)
    else:
        hpath = f"{path}.header.{htype}"
        check_media(need_obj(header, htype, hpath), hpath, "header")


def _check_buttons(action: dict, path: str) -> None:
    buttons = get_list(action, "buttons", f"{path}.buttons")
    if not 1 <= len(buttons) <= limits.REPLY_BUTTONS_MAX:
        raise RuleBroken(invalid(f"{path}.buttons",
                                 f"must have between 1 and {limits.REPLY_BUTTONS_MAX} elements."))
    ids: set[str] = set()
    titles: set[str] = set()
    for i, button in enumerate(buttons):
        bpath = f"{path}.buttons[{i}]"
        if not isinstance(button, dict):
            raise RuleBroken(bad_parameter(f"Param {bpath} must be a JSON object."))
        if need_str(button, "type", f"{bpath}.type") != "reply":
            raise RuleBroken(invalid(f"{bpath}.type", "must be one of {reply}."))
        reply = need_obj(button, "reply", f"{bpath}.reply")
        button_id = need_str(reply, "id", f"{bpath}.reply.id", max_len=limits.REPLY_BUTTON_ID_MAX)
        if button_id != button_id.strip():
            raise RuleBroken(
                invalid(f"{bpath}.reply.id", "must not have leading or trailing spaces.")
            )
        title = need_str(
            reply, "title", f"{bpath}.reply.title", max_len=limits.REPLY_BUTTON_TITLE_MAX
        )
        if button_id in ids:
            raise RuleBroken(invalid(f"{bpath}.reply.id", "must be unique within the message."))
        if title in titles:
            raise RuleBroken(invalid(f"{bpath}.reply.title", "must be unique within the message."))
        ids.add(button_id)
        titles.add(title)


def _check_list(action: dict, path: str) -> None:
    need_str(action, "button", f"{path}.button", max_len=limits.LIST_BUTTON_LABEL_MAX)
    sections = get_list(action, "sections", f"{path}.sections")
    if not 1 <= len(sections) <= limits.LIST_SECTIONS_MAX:
        raise RuleBroken(invalid(f"{path}.sections",
                                 f"must have between 1 and {limits.LIST_SECTIONS_MAX} elements."))
    row_ids: set[str] = set()
    total_rows = 0
    for i, section in enumerate(sections):
        spath = f"{path}.sections[{i}]"
        if not isinstance(section, dict):
            raise RuleBroken(bad_parameter(f"Param {spath} must be a JSON object."))
        if len(sections) > 1 or "title" in section:
            need_str(section, "title", f"{spath}.title", max_len=limits.LIST_SECTION_TITLE_MAX)
        rows = get_list(section, "rows", f"{spath}.rows")
        if not rows:
            raise RuleBroken(invalid(f"{spath}.rows", "must have at least 1 element."))
        total_rows += len(rows)
        if total_rows > limits.LIST_ROWS_MAX:
            raise RuleBroken(invalid(f"{path}.sections",
                                     f"must have at most {limits.LIST_ROWS_MAX} rows in total."))
        for j, row in enumerate(rows):
            rpath = f"{spath}.rows[{j}]"
            if not isinstance(row, dict):
                raise RuleBroken(bad_parameter(f"Param {rpath} must be a JSON object."))
            row_id = need_str(row, "id", f"{rpath}.id", max_len=limits.LIST_ROW_ID_MAX)
            if row_id in row_ids:
                raise RuleBroken(invalid(f"{rpath}.id", "must be unique within the message."))
            row_ids.add(row_id)
            need_str(row, "title", f"{rpath}.title", max_len=limits.LIST_ROW_TITLE_MAX)
            if "description" in row:
                need_str(row, "description", f"{rpath}.description",
                         max_len=limits.LIST_ROW_DESCRIPTION_MAX, min_len=0)


def _check_cta(action: dict, path: str) -> None:
    if need_str(action, "name", f"{path}.name") != "cta_url":
        raise RuleBroken(invalid(f"{path}.name", "must be one of {cta_url}."))
    params = need_obj(action, "parameters", f"{path}.parameters")
    need_str(params, "display_text", f"{path}.parameters.display_text",
             max_len=limits.CTA_DISPLAY_TEXT_MAX)
    url = need_str(params, "url", f"{path}.parameters.url")
    if not url.startswith(("http://", "https://")):
        raise RuleBroken(invalid(f"{path}.parameters.url", "must be an http(s) URL."))
