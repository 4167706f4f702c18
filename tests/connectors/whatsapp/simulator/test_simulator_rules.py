"""Meta's send rules, table-driven at every limit: accept at the limit, reject one over, with the
right code (131008 missing, 131009 invalid, 100 malformed) and details naming the field.
Bodies start from Meta's own request examples (tests/fixtures/whatsapp_requests/)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from connectors.whatsapp import limits
from connectors.whatsapp.simulator.rules import validate_send

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "whatsapp_requests"


def load(name: str) -> dict:
    return json.loads((FIXTURES / f"meta-openapi__{name}.json").read_text())


def a(n: int, ch: str = "a") -> str:
    return ch * n


def mutate(name: str, change: Callable[[dict], None]) -> dict:
    body = copy.deepcopy(load(name))
    change(body)
    return body


def buttons(n: int) -> Callable[[dict], None]:
    def change(b: dict) -> None:
        b["interactive"]["action"]["buttons"] = [
            {"type": "reply", "reply": {"id": f"id{i}", "title": f"T{i}"}} for i in range(n)]
    return change


def set_path(path: str, value: object) -> Callable[[dict], None]:
    """`set_path("interactive.action.buttons.0.reply.title", "x")`; None deletes the key."""
    def change(b: dict) -> None:
        *parents, last = path.split(".")
        node = b
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        if value is None:
            del node[last]
        else:
            node[int(last) if isinstance(node, list) else last] = value
    return change


def list_sections(n_sections: int, rows_each: int) -> Callable[[dict], None]:
    def change(b: dict) -> None:
        b["interactive"]["action"]["sections"] = [
            {"title": f"S{s}", "rows": [{"id": f"r{s}-{r}", "title": f"Row {r}"}
                                        for r in range(rows_each)]}
            for s in range(n_sections)]
    return change


BTN = "send-reply-button"
LST = "send-list-message"
TXT = "send-text-message"
IMG = "send-image-message-by-url"
TPL = "send-message-template-text"
READ = "send-typing-indicator-and-read-receipt"
BTN0 = "interactive.action.buttons.0.reply"
ROW0 = "interactive.action.sections.0.rows.0"
CTA = {"messaging_product": "whatsapp", "to": "393331234567", "type": "interactive",
       "interactive": {"type": "cta_url", "body": {"text": "See it"},
                       "action": {"name": "cta_url", "parameters": {
                           "display_text": "Open", "url": "https://example.com"}}}}

# (label, body, expected code or None, substring the details must contain)
CASES: list[tuple[str, object, int | None, str]] = [
    # every body
    ("not_an_object", [1, 2], 100, "JSON object"),
    ("no_messaging_product", mutate(TXT, set_path("messaging_product", None)), 131008,
     "messaging_product"),
    ("wrong_messaging_product", mutate(TXT, set_path("messaging_product", "sms")), 131009,
     "messaging_product"),
    ("no_recipient", mutate(TXT, set_path("to", None)), 131008, "to"),
    ("bsuid_recipient", mutate(TXT, lambda b: b.update(recipient=b.pop("to"))), None, ""),
    ("empty_to", mutate(TXT, set_path("to", "")), 131009, "to"),
    ("unknown_type", mutate(TXT, set_path("type", "poll")), 100, "type"),
    ("type_defaults_to_text", mutate(TXT, set_path("type", None)), None, ""),
    ("content_missing", mutate(TXT, set_path("text", None)), 131008, "text"),
    ("content_not_object", mutate(TXT, set_path("text", "hi")), 100, "text"),
    ("bad_recipient_type", mutate(TXT, set_path("recipient_type", "crowd")), 131009,
     "recipient_type"),
    ("context_without_id", mutate(TXT, set_path("context", {})), 131008, "context.message_id"),
    # text
    ("text_at_limit", mutate(TXT, set_path("text.body", a(limits.TEXT_BODY_MAX))), None, ""),
    ("text_over_limit", mutate(TXT, set_path("text.body", a(limits.TEXT_BODY_MAX + 1))), 131009,
     "text.body"),
    ("text_empty", mutate(TXT, set_path("text.body", "")), 131009, "text.body"),
    ("text_body_missing", mutate(TXT, set_path("text.body", None)), 131008, "text.body"),
    ("text_preview_not_bool", mutate(TXT, set_path("text.preview_url", "yes")), 100,
     "text.preview_url"),
    # reply buttons
    ("buttons_at_limit", mutate(BTN, buttons(limits.REPLY_BUTTONS_MAX)), None, ""),
    ("buttons_over_limit", mutate(BTN, buttons(limits.REPLY_BUTTONS_MAX + 1)), 131009,
     "interactive.action.buttons"),
    ("buttons_none", mutate(BTN, buttons(0)), 131009, "interactive.action.buttons"),
    ("button_title_at_limit", mutate(BTN, set_path(f"{BTN0}.title",
                                                   a(limits.REPLY_BUTTON_TITLE_MAX))), None, ""),
    ("button_title_over_limit", mutate(BTN, set_path(f"{BTN0}.title",
                                                     a(limits.REPLY_BUTTON_TITLE_MAX + 1))),
     131009, "buttons[0].reply.title"),
    ("button_titles_not_unique", mutate(BTN, set_path(
        "interactive.action.buttons.1.reply.title", "<BUTTON_TITLE_1>")), 131009,
     "buttons[1].reply.title"),
    ("button_ids_not_unique", mutate(BTN, set_path(
        "interactive.action.buttons.1.reply.id", "<UNIQUE_BUTTON_ID_1>")), 131009,
     "buttons[1].reply.id"),
    ("button_id_at_limit", mutate(BTN, set_path(f"{BTN0}.id", a(limits.REPLY_BUTTON_ID_MAX))),
     None, ""),
    ("button_id_over_limit", mutate(BTN, set_path(f"{BTN0}.id",
                                                  a(limits.REPLY_BUTTON_ID_MAX + 1))),
     131009, "buttons[0].reply.id"),
    ("button_id_leading_space", mutate(BTN, set_path(f"{BTN0}.id", " yes")), 131009,
     "buttons[0].reply.id"),
    ("button_id_trailing_space", mutate(BTN, set_path(f"{BTN0}.id", "yes ")), 131009,
     "buttons[0].reply.id"),
    ("button_type_not_reply", mutate(BTN, set_path("interactive.action.buttons.0.type", "url")),
     131009, "buttons[0].type"),
    ("interactive_body_at_limit", mutate(BTN, set_path(
        "interactive.body.text", a(limits.INTERACTIVE_BODY_MAX))), None, ""),
    ("interactive_body_over_limit", mutate(BTN, set_path(
        "interactive.body.text", a(limits.INTERACTIVE_BODY_MAX + 1))), 131009,
     "interactive.body.text"),
    ("interactive_body_missing", mutate(BTN, set_path("interactive.body", None)), 131008,
     "interactive.body"),
    ("header_text_at_limit", mutate(BTN, set_path("interactive.header", {
        "type": "text", "text": a(limits.INTERACTIVE_HEADER_TEXT_MAX)})), None, ""),
    ("header_text_over_limit", mutate(BTN, set_path("interactive.header", {
        "type": "text", "text": a(limits.INTERACTIVE_HEADER_TEXT_MAX + 1)})), 131009,
     "interactive.header.text"),
    ("header_image_on_buttons", mutate(BTN, set_path("interactive.header", {
        "type": "image", "image": {"link": "https://x/a.jpg"}})), None, ""),
    ("footer_at_limit", mutate(BTN, set_path("interactive.footer", {
        "text": a(limits.INTERACTIVE_FOOTER_MAX)})), None, ""),
    ("footer_over_limit", mutate(BTN, set_path("interactive.footer", {
        "text": a(limits.INTERACTIVE_FOOTER_MAX + 1)})), 131009, "interactive.footer.text"),
    ("interactive_unknown_type", mutate(BTN, set_path("interactive.type", "carousel")), 131009,
     "interactive.type"),
    # lists
    ("list_label_at_limit", mutate(LST, set_path("interactive.action.button",
                                                 a(limits.LIST_BUTTON_LABEL_MAX))), None, ""),
    ("list_label_over_limit", mutate(LST, set_path("interactive.action.button",
                                                   a(limits.LIST_BUTTON_LABEL_MAX + 1))),
     131009, "interactive.action.button"),
    ("list_sections_at_limit", mutate(LST, list_sections(limits.LIST_SECTIONS_MAX, 1)), None, ""),
    ("list_sections_over_limit", mutate(LST, list_sections(limits.LIST_SECTIONS_MAX + 1, 1)),
     131009, "interactive.action.sections"),
    ("list_rows_at_limit", mutate(LST, list_sections(2, limits.LIST_ROWS_MAX // 2)), None, ""),
    ("list_rows_over_limit_across_sections", mutate(LST, list_sections(
        2, limits.LIST_ROWS_MAX // 2 + 1)), 131009, "rows in total"),
    ("list_section_title_at_limit", mutate(LST, set_path(
        "interactive.action.sections.0.title", a(limits.LIST_SECTION_TITLE_MAX))), None, ""),
    ("list_section_title_over_limit", mutate(LST, set_path(
        "interactive.action.sections.0.title", a(limits.LIST_SECTION_TITLE_MAX + 1))), 131009,
     "sections[0].title"),
    ("list_section_title_required_when_several", mutate(LST, set_path(
        "interactive.action.sections.0.title", None)), 131008, "sections[0].title"),
    ("list_single_section_without_title", mutate(LST, lambda b: b["interactive"]["action"].update(
        sections=[{"rows": [{"id": "r1", "title": "One"}]}])), None, ""),
    ("list_row_id_at_limit", mutate(LST, set_path(f"{ROW0}.id", a(limits.LIST_ROW_ID_MAX))),
     None, ""),
    ("list_row_id_over_limit", mutate(LST, set_path(f"{ROW0}.id", a(limits.LIST_ROW_ID_MAX + 1))),
     131009, "rows[0].id"),
    ("list_row_ids_not_unique", mutate(LST, set_path(
        "interactive.action.sections.1.rows.0.id", "<LIST_SECTION_1_ROW_1_ID>")), 131009,
     "sections[1].rows[0].id"),
    ("list_row_title_at_limit", mutate(LST, set_path(f"{ROW0}.title",
                                                     a(limits.LIST_ROW_TITLE_MAX))), None, ""),
    ("list_row_title_over_limit", mutate(LST, set_path(f"{ROW0}.title",
                                                       a(limits.LIST_ROW_TITLE_MAX + 1))),
     131009, "rows[0].title"),
    ("list_row_description_at_limit", mutate(LST, set_path(
        f"{ROW0}.description", a(limits.LIST_ROW_DESCRIPTION_MAX))), None, ""),
    ("list_row_description_over_limit", mutate(LST, set_path(
        f"{ROW0}.description", a(limits.LIST_ROW_DESCRIPTION_MAX + 1))), 131009,
     "rows[0].description"),
    ("list_header_must_be_text", mutate(LST, set_path("interactive.header", {
        "type": "image", "image": {"link": "https://x/a.jpg"}})), 131009,
     "interactive.header.type"),
    ("list_empty_section", mutate(LST, set_path("interactive.action.sections.0.rows", [])),
     131009, "sections[0].rows"),
    ("cta_ok", CTA, None, ""),
]


def cta(change: Callable[[dict], None]) -> dict:
    body = copy.deepcopy(CTA)
    change(body)
    return body


CASES += [
    ("cta_display_text_at_limit", cta(set_path("interactive.action.parameters.display_text",
                                               a(limits.CTA_DISPLAY_TEXT_MAX))), None, ""),
    ("cta_display_text_over_limit", cta(set_path("interactive.action.parameters.display_text",
                                                 a(limits.CTA_DISPLAY_TEXT_MAX + 1))), 131009,
     "parameters.display_text"),
    ("cta_url_missing", cta(set_path("interactive.action.parameters.url", None)), 131008,
     "parameters.url"),
    # media
    ("image_by_link", load("send-image-message-by-url"), None, ""),
    ("media_without_link_or_id", mutate(IMG, set_path("image", {})), 131008, "image.link"),
    ("media_with_link_and_id", mutate(IMG, set_path("image.id", "123")), 131009, "image"),
    ("caption_at_limit", mutate(IMG, set_path("image.caption", a(limits.MEDIA_CAPTION_MAX))),
     None, ""),
    ("caption_over_limit", mutate(IMG, set_path("image.caption", a(limits.MEDIA_CAPTION_MAX + 1))),
     131009, "image.caption"),
    ("document_caption_over_limit", mutate("send-document-message-by-id", set_path(
        "document.caption", a(limits.MEDIA_CAPTION_MAX + 1))), 131009, "document.caption"),
    ("audio_has_no_caption", mutate("send-audio-message-by-id", set_path("audio.caption", "hi")),
     131009, "audio.caption"),
    ("sticker_by_id", {"messaging_product": "whatsapp", "to": "1", "type": "sticker",
                       "sticker": {"id": "9"}}, None, ""),
    # location, contacts, reaction
    ("location_ok", {"messaging_product": "whatsapp", "to": "1", "type": "location",
                     "location": {"latitude": 45.46, "longitude": 9.19, "name": "Duomo"}},
     None, ""),
    ("location_latitude_out_of_range", {"messaging_product": "whatsapp", "to": "1",
                                        "type": "location", "location": {"latitude": 91,
                                                                         "longitude": 9}},
     131009, "location.latitude"),
    ("location_longitude_missing", {"messaging_product": "whatsapp", "to": "1",
                                    "type": "location", "location": {"latitude": 1}},
     131008, "location.longitude"),
    ("contacts_ok", {"messaging_product": "whatsapp", "to": "1", "type": "contacts",
                     "contacts": [{"name": {"formatted_name": "Ada"}}]}, None, ""),
    ("contacts_empty", {"messaging_product": "whatsapp", "to": "1", "type": "contacts",
                        "contacts": []}, 131009, "contacts"),
    ("contacts_without_formatted_name", {"messaging_product": "whatsapp", "to": "1",
                                         "type": "contacts", "contacts": [{"name": {}}]},
     131008, "contacts[0].name.formatted_name"),
    ("reaction_removal_empty_emoji", mutate("send-reply-with-reaction-message",
                                            set_path("reaction.emoji", "")), None, ""),
    ("reaction_without_message_id", mutate("send-reply-with-reaction-message",
                                           set_path("reaction.message_id", None)),
     131008, "reaction.message_id"),
    # templates
    ("template_without_name", mutate(TPL, set_path("template.name", None)), 131008,
     "template.name"),
    ("template_without_language_code", mutate(TPL, set_path("template.language.code", None)),
     131008, "template.language.code"),
    ("template_unknown_component", mutate(TPL, set_path("template.components.0.type", "side")),
     131009, "template.components[0].type"),
    ("template_button_without_index", mutate(TPL, lambda b: b["template"]["components"].append(
        {"type": "button", "sub_type": "quick_reply",
         "parameters": [{"type": "payload", "payload": "STOP"}]})),
     131008, "template.components[1].index"),
    ("template_quick_reply_ok", mutate(TPL, lambda b: b["template"]["components"].append(
        {"type": "button", "sub_type": "quick_reply", "index": 0,
         "parameters": [{"type": "payload", "payload": "STOP"}]})), None, ""),
    ("template_currency_without_amount", mutate(TPL, set_path(
        "template.components.0.parameters.1.currency.amount_1000", None)), 131008,
     "parameters[1].currency.amount_1000"),
    ("template_param_unknown_type", mutate(TPL, set_path(
        "template.components.0.parameters.0.type", "emoji")), 131009, "parameters[0].type"),
    # mark as read
    ("mark_read_wrong_status", mutate(READ, set_path("status", "delivered")), 131009, "status"),
    ("mark_read_without_message_id", mutate(READ, set_path("message_id", None)), 131008,
     "message_id"),
    ("mark_read_bad_typing_indicator", mutate(READ, set_path("typing_indicator.type", "audio")),
     131009, "typing_indicator.type"),
]


@pytest.mark.parametrize(("label", "body", "code", "field"), CASES, ids=[c[0] for c in CASES])
def test_rule(label: str, body: object, code: int | None, field: str) -> None:
    error = validate_send(body)
    if code is None:
        assert error is None, error
        return
    assert error is not None, f"{label}: accepted, expected {code}"
    assert error.code == code, error
    assert field in error.details, error.details
    assert error.http_status == 400


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.json")), ids=lambda p: p.stem)
def test_meta_examples_are_accepted(path: Path) -> None:
    assert validate_send(json.loads(path.read_text())) is None


def test_error_body_is_meta_shaped() -> None:
    error = validate_send(mutate(TXT, set_path("text.body", a(limits.TEXT_BODY_MAX + 1))))
    assert error is not None
    body = error.to_body("AbCdEf")
    assert body == {"error": {
        "message": "(#131009) Parameter value is not valid", "type": "OAuthException",
        "code": 131009, "error_data": {"messaging_product": "whatsapp",
                                       "details": "Param text.body must be at most 4096 "
                                                  "characters long."},
        "fbtrace_id": "AbCdEf"}}
