"""Template builder: Meta's shapes for valid calls, a named rule for each invalid one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from connectors.whatsapp.outbound_rendering import Recipient
from connectors.whatsapp.templates import (
    TemplateError,
    template_from_custom,
    template_message,
    template_object,
)

FIXTURES = Path(__file__).parents[2] / "fixtures" / "whatsapp_outbound" / "api-requests"
PHONE = Recipient(phone="16505551234")
CURRENCY = {
    "type": "currency",
    "currency": {"fallback_value": "$100.99", "code": "USD", "amount_1000": 100990},
}
DATE = {"type": "date_time", "date_time": {"fallback_value": "February 25, 1977"}}


def test_positional_params_match_metas_example() -> None:
    example = json.loads((FIXTURES / "meta-openapi__send-message-template-media.json").read_text())
    example_body = example["template"]["components"][1]["parameters"]
    body = template_message(
        PHONE,
        "order_update",
        "en_US",
        body_params=["text-string", CURRENCY, example_body[2]],
        header={"type": "image", "link": "http(s)://the-image-url".replace("http(s)", "https")},
    )
    assert body["messaging_product"] == "whatsapp" and body["recipient_type"] == "individual"
    assert body["to"] == "16505551234" and body["type"] == "template"
    assert body["template"]["language"] == {"code": "en_US"}
    header, body_component = body["template"]["components"]
    assert header == {
        "type": "header",
        "parameters": [{"type": "image", "image": {"link": "https://the-image-url"}}],
    }
    assert body_component["parameters"] == example_body


def test_named_params_header_text_and_quick_reply_buttons() -> None:
    template = template_object(
        "welcome",
        "it",
        named_params={"first_name": "Ada"},
        header="Benvenuta",
        buttons=["STOP_PROMOS", "/affirm"],
    )
    assert template["components"] == [
        {"type": "header", "parameters": [{"type": "text", "text": "Benvenuta"}]},
        {
            "type": "body",
            "parameters": [{"type": "text", "parameter_name": "first_name", "text": "Ada"}],
        },
        {
            "type": "button",
            "sub_type": "quick_reply",
            "index": 0,
            "parameters": [{"type": "payload", "payload": "STOP_PROMOS"}],
        },
        {
            "type": "button",
            "sub_type": "quick_reply",
            "index": 1,
            "parameters": [{"type": "payload", "payload": "/affirm"}],
        },
    ]


def test_template_without_params_has_no_components() -> None:
    assert template_object("hello_world", "en_US") == {
        "name": "hello_world",
        "language": {"code": "en_US"},
    }


def test_param_with_four_spaces_is_allowed() -> None:
    template_object("t", "en", body_params=["a    b"])


def test_bsuid_recipient() -> None:
    body = template_message(Recipient(bsuid="IT.123abc"), "t", "it")
    assert body["recipient"] == "IT.123abc" and "to" not in body


INVALID: list[tuple[str, dict[str, Any], str]] = [
    ("name_uppercase", {"name": "Order_update"}, "template name"),
    ("name_dash", {"name": "order-update"}, "template name"),
    ("name_empty", {"name": ""}, "template name"),
    ("name_513", {"name": "a" * 513}, "512"),
    ("language_uppercase", {"language_code": "EN"}, "language"),
    ("language_dash", {"language_code": "en-US"}, "language"),
    ("language_word", {"language_code": "english"}, "language"),
    ("both_styles", {"body_params": ["a"], "named_params": {"n": "b"}}, "not both"),
    ("param_newline", {"body_params": ["Ada\nLovelace"]}, "newline"),
    ("param_tab", {"body_params": ["Ada\tLovelace"]}, "newline"),
    ("param_five_spaces", {"body_params": ["Ada     Lovelace"]}, "consecutive spaces"),
    ("param_empty", {"body_params": [""]}, r"body_params\[0\]"),
    ("param_not_string", {"body_params": [3]}, r"body_params\[0\]"),
    (
        "currency_without_fallback",
        {"body_params": [{"type": "currency", "currency": {}}]},
        "fallback",
    ),
    ("named_bad_name", {"named_params": {"First Name": "Ada"}}, "named_params"),
    ("named_newline", {"named_params": {"first": "A\nB"}}, "newline"),
    ("buttons_11", {"buttons": [f"p{i}" for i in range(11)]}, "at most 10"),
    ("button_empty_payload", {"buttons": [" "]}, r"buttons\[0\]"),
    ("header_not_http", {"header": {"type": "image", "link": "ftp://x"}}, "header"),
    ("header_bad_type", {"header": {"type": "sticker", "link": "https://x"}}, "header"),
    ("header_newline", {"header": "a\nb"}, "header"),
]


@pytest.mark.parametrize(("kwargs", "match"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_invalid_calls_name_the_rule(kwargs: dict[str, Any], match: str) -> None:
    args = {"name": "order_update", "language_code": "en_US", **kwargs}
    with pytest.raises(TemplateError, match=match):
        template_object(args.pop("name"), args.pop("language_code"), **args)


def test_error_messages_never_quote_parameter_values() -> None:
    with pytest.raises(TemplateError) as info:
        template_object("t", "en", body_params=["Ada Lovelace\n+39 333 1234567"])
    assert "Ada" not in str(info.value) and "1234567" not in str(info.value)


def test_custom_builder_form_and_unknown_keys() -> None:
    body = template_from_custom(
        PHONE, {"name": "t", "language": "en", "body_params": ["Ada"], "buttons": ["STOP"]}
    )
    assert body["template"]["components"][0]["parameters"] == [{"type": "text", "text": "Ada"}]
    with pytest.raises(TemplateError, match="unknown keys"):
        template_from_custom(PHONE, {"name": "t", "language": "en", "lang": "it"})


def test_custom_raw_form_is_checked() -> None:
    with pytest.raises(TemplateError, match="language"):
        template_from_custom(PHONE, {"name": "t", "language": {"code": "english"}})
    with pytest.raises(TemplateError, match="components"):
        template_from_custom(PHONE, {"name": "t", "language": {"code": "en"}, "components": {}})
