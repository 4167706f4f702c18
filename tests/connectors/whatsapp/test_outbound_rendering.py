"""Rendering Rasa responses into Cloud API bodies: one table of cases at every limit, plus
shape checks against Meta's own request examples (tests/fixtures/whatsapp_outbound)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.whatsapp import limits
from connectors.whatsapp.outbound_rendering import (
    DEFAULT_CHOICE_PROMPT,
    Recipient,
    UnrenderableResponse,
    mark_read_body,
    render_response,
    split_text,
)
from connectors.whatsapp.templates import TemplateError

FIXTURES = Path(__file__).parents[2] / "fixtures" / "whatsapp_outbound" / "api-requests"
PHONE = Recipient(phone="16505551234")
BSUID = Recipient(bsuid="US.13491208655302741918")


def buttons(n: int, title_len: int = 5, id_len: int = 8) -> list[dict[str, str]]:
    """``n`` distinct buttons with titles of ``title_len`` and payloads of ``id_len`` chars."""
    return [
        {"title": f"{i:02d}".ljust(title_len, "t"), "payload": f"/{i:02d}".ljust(id_len, "p")}
        for i in range(n)
    ]


def words(n_chars: int) -> str:
    """Text of exactly ``n_chars`` characters made of 9-letter words separated by spaces."""
    return ("abcdefghi " * (n_chars // 10 + 1))[:n_chars].rstrip().ljust(n_chars, "x")


# label, response, expected kinds of bodies in order, expected number of numbered choices
CASES: list[tuple[str, dict[str, Any], list[str], int]] = [
    ("text_short", {"text": "Hello"}, ["text"], 0),
    ("text_4096", {"text": words(4096)}, ["text"], 0),
    ("text_4097", {"text": words(4097)}, ["text", "text"], 0),
    ("text_10000", {"text": words(10_000)}, ["text", "text", "text"], 0),
    ("text_one_long_word_5000", {"text": "x" * 5000}, ["text", "text"], 0),
    ("text_empty", {"text": ""}, [], 0),
    ("text_whitespace_only", {"text": "   \n "}, [], 0),
    ("buttons_3", {"text": "Pick", "buttons": buttons(3)}, ["button"], 0),
    ("buttons_4_list", {"text": "Pick", "buttons": buttons(4)}, ["list"], 0),
    ("buttons_1", {"text": "Pick", "buttons": buttons(1)}, ["button"], 0),
    ("title_20_button", {"text": "Pick", "buttons": buttons(2, title_len=20)}, ["button"], 0),
    ("title_21_list", {"text": "Pick", "buttons": buttons(2, title_len=21)}, ["list"], 0),
    ("title_24_list", {"text": "Pick", "buttons": buttons(2, title_len=24)}, ["list"], 0),
    ("title_25_numbered", {"text": "Pick", "buttons": buttons(2, title_len=25)}, ["text"], 2),
    ("rows_10_list", {"text": "Pick", "buttons": buttons(10)}, ["list"], 0),
    ("rows_11_numbered", {"text": "Pick", "buttons": buttons(11)}, ["text"], 11),
    ("id_256_button", {"text": "Pick", "buttons": buttons(3, id_len=256)}, ["button"], 0),
    ("id_257_numbered", {"text": "Pick", "buttons": buttons(3, id_len=257)}, ["text"], 3),
    ("row_id_200_list", {"text": "Pick", "buttons": buttons(4, id_len=200)}, ["list"], 0),
    ("row_id_201_numbered", {"text": "Pick", "buttons": buttons(4, id_len=201)}, ["text"], 4),
    (
        "duplicate_titles_numbered",
        {
            "text": "Pick",
            "buttons": [{"title": "Yes", "payload": "/a"}, {"title": "Yes", "payload": "/b"}],
        },
        ["text"],
        2,
    ),
    (
        "duplicate_titles_casefold_numbered",
        {
            "text": "Pick",
            "buttons": [{"title": "Yes", "payload": "/a"}, {"title": "YES", "payload": "/b"}],
        },
        ["text"],
        2,
    ),
    (
        "duplicate_payloads_numbered",
        {
            "text": "Pick",
            "buttons": [{"title": "Yes", "payload": "/a"}, {"title": "Sure", "payload": "/a"}],
        },
        ["text"],
        2,
    ),
    (
        "padded_payload_numbered",
        {"text": "Pick", "buttons": [{"title": "Yes", "payload": " /a"}]},
        ["text"],
        1,
    ),
    ("empty_text_with_buttons", {"buttons": buttons(2)}, ["button"], 0),
    ("body_1024_inline", {"text": words(1024), "buttons": buttons(2)}, ["button"], 0),
    ("body_1025_text_first", {"text": words(1025), "buttons": buttons(2)}, ["text", "button"], 0),
    (
        "body_5000_texts_first",
        {"text": words(5000), "buttons": buttons(2)},
        ["text", "text", "button"],
        0,
    ),
    ("quick_replies_as_buttons", {"text": "Pick", "quick_replies": buttons(2)}, ["button"], 0),
    ("image_with_text_caption", {"text": "Look", "image": "https://x.test/a.jpg"}, ["image"], 0),
    ("image_alone", {"image": "https://x.test/a.jpg"}, ["image"], 0),
    (
        "image_with_long_text",
        {"text": words(1025), "image": "https://x.test/a.jpg"},
        ["text", "image"],
        0,
    ),
    (
        "image_after_buttons",
        {"text": "Pick", "buttons": buttons(2), "image": "https://x.test/a.jpg"},
        ["button", "image"],
        0,
    ),
    ("attachment_url", {"attachment": "https://x.test/files/Terms%20v2.pdf"}, ["document"], 0),
    (
        "order_text_custom_image_attachment",
        {
            "text": "Hi",
            "custom": {"type": "reaction", "reaction": {"message_id": "wamid.X", "emoji": "👍"}},
            "image": "https://x.test/a.jpg",
            "attachment": {"url": "https://x.test/a.pdf", "filename": "a.pdf"},
        },
        ["text", "reaction", "image", "document"],
        0,
    ),
    (
        "custom_template",
        {
            "custom": {
                "template": {"name": "order_update", "language": "en_US", "body_params": ["Ada"]}
            }
        },
        ["template"],
        0,
    ),
    (
        "elements_image_and_choices",
        {
            "elements": [
                {
                    "title": "Red",
                    "subtitle": "A red one",
                    "image_url": "https://x.test/r.jpg",
                    "buttons": [{"title": "Buy", "payload": "/buy_red"}],
                },
                {"title": "Blue", "buttons": [{"title": "Visit", "url": "https://x.test/b"}]},
            ]
        },
        ["image", "button", "text"],
        0,
    ),
]


def kind(body: dict[str, Any]) -> str:
    return body["interactive"]["type"] if body["type"] == "interactive" else body["type"]


@pytest.mark.parametrize(
    ("response", "kinds", "n_numbered"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_render_cases(response: dict[str, Any], kinds: list[str], n_numbered: int) -> None:
    reply = render_response(PHONE, response)
    assert [kind(b) for b in reply.bodies] == kinds
    assert len(reply.numbered_choices) == n_numbered
    for body in reply.bodies:
        assert_within_limits(body)


@pytest.mark.parametrize(
    ("response", "kinds", "n_numbered"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_every_body_has_envelope_and_matches_metas_shape(response, kinds, n_numbered) -> None:
    for body in render_response(PHONE, response).bodies:
        assert body["messaging_product"] == "whatsapp"
        assert body["recipient_type"] == "individual"
        assert body["to"] == "16505551234" and "recipient" not in body
        assert body[body["type"]]
        fixture = FIXTURE_FOR_KIND.get(kind(body))
        if fixture:
            assert_shape_within(body, load(fixture), path=kind(body))


def assert_within_limits(body: dict[str, Any]) -> None:
    """Meta's rules, checked on the output independently of the renderer's own logic."""
    if body["type"] == "text":
        assert 0 < len(body["text"]["body"]) <= limits.TEXT_BODY_MAX
    if body["type"] == "interactive":
        inter = body["interactive"]
        assert 0 < len(inter["body"]["text"]) <= limits.INTERACTIVE_BODY_MAX
        if inter["type"] == "button":
            replies = [b["reply"] for b in inter["action"]["buttons"]]
            assert len(replies) <= limits.REPLY_BUTTONS_MAX
            assert all(len(r["title"]) <= limits.REPLY_BUTTON_TITLE_MAX for r in replies)
            assert all(len(r["id"]) <= limits.REPLY_BUTTON_ID_MAX for r in replies)
            assert len({r["title"] for r in replies}) == len(replies)
        else:
            rows = [r for s in inter["action"]["sections"] for r in s["rows"]]
            assert len(inter["action"]["button"]) <= limits.LIST_BUTTON_LABEL_MAX
            assert len(rows) <= limits.LIST_ROWS_MAX
            assert all(len(r["title"]) <= limits.LIST_ROW_TITLE_MAX for r in rows)
            assert all(len(r["id"]) <= limits.LIST_ROW_ID_MAX for r in rows)
    if body["type"] in ("image", "document"):
        assert len(body[body["type"]].get("caption", "")) <= limits.MEDIA_CAPTION_MAX


FIXTURE_FOR_KIND = {
    "text": "meta-openapi__send-text-message.json",
    "button": "meta-openapi__send-reply-button.json",
    "list": "meta-openapi__send-list-message.json",
    "image": "meta-openapi__send-image-message-by-url.json",
    "document": "meta-openapi__send-document-message-by-id.json",
    "template": "meta-openapi__send-message-template-media.json",
    "reaction": "meta-openapi__send-reply-with-reaction-message.json",
}


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


# Keys our bodies may use that Meta's examples happen not to show.
SHAPE_EXTRAS = {"document.link", "image.link", "document.caption", "image.caption"}


def assert_shape_within(ours: Any, theirs: Any, path: str) -> None:
    """Every key we send exists in Meta's example at the same place with the same JSON type."""
    if isinstance(ours, dict):
        assert isinstance(theirs, dict), path
        for key, value in ours.items():
            sub = f"{path}.{key}"
            if sub.split(".", 1)[1] in SHAPE_EXTRAS:
                continue
            assert key in theirs, f"{sub} not in Meta's example"
            assert_shape_within(value, theirs[key], sub)
    elif isinstance(ours, list):
        assert isinstance(theirs, list) and theirs, path
        for item in ours:  # compare with the example item of the same "type", if typed
            same = [
                t for t in theirs if isinstance(item, dict) and t.get("type") == item.get("type")
            ]
            assert_shape_within(item, (same or theirs)[0], path + "[]")
    else:
        assert type(ours) is type(theirs) or {type(ours), type(theirs)} <= {int, float}, path


# --- details the table cannot show -----------------------------------------------------------


def test_split_text_keeps_words_and_order() -> None:
    text = words(10_000)
    chunks = split_text(text)
    assert all(len(c) <= limits.TEXT_BODY_MAX for c in chunks)
    assert " ".join(chunks).split() == text.split()


def test_split_text_prefers_paragraph_break() -> None:
    text = "a" * 3000 + "\n\n" + "b " * 1000
    chunks = split_text(text)
    assert chunks[0] == "a" * 3000


def test_split_text_hard_splits_an_overlong_word() -> None:
    assert split_text("x" * 5000) == ["x" * 4096, "x" * 904]


@given(st.text(alphabet="ab \n", max_size=300), st.integers(min_value=3, max_value=40))
def test_split_text_property(text: str, limit: int) -> None:
    chunks = split_text(text, limit)
    assert all(0 < len(c) <= limit for c in chunks)
    if all(len(w) <= limit for w in text.split()):
        assert " ".join(chunks).split() == text.split()
    else:
        assert "".join("".join(chunks).split()) == "".join(text.split())


def test_numbered_text_lists_titles_and_maps_numbers_to_payloads() -> None:
    response = {"text": "Pick", "buttons": buttons(2, title_len=25)}
    reply = render_response(PHONE, response)
    body = reply.bodies[0]["text"]["body"]
    t0, t1 = (b["title"] for b in response["buttons"])
    assert body == f"Pick\n\n1. {t0}\n2. {t1}"
    assert reply.numbered_choices == {
        "1": response["buttons"][0]["payload"],
        "2": response["buttons"][1]["payload"],
    }


def test_duplicate_titles_stay_distinguishable_by_number() -> None:
    reply = render_response(
        PHONE, {"buttons": [{"title": "Yes", "payload": "/a"}, {"title": "Yes", "payload": "/b"}]}
    )
    assert reply.bodies[0]["text"]["body"] == f"{DEFAULT_CHOICE_PROMPT}\n\n1. Yes\n2. Yes"
    assert reply.numbered_choices == {"1": "/a", "2": "/b"}


def test_titles_are_never_truncated() -> None:
    long = [{"title": "A" * 30, "payload": "/a"}, {"title": "A" * 29 + "B", "payload": "/b"}]
    body = render_response(PHONE, {"text": "x", "buttons": long}).bodies[0]
    assert "A" * 30 in body["text"]["body"] and "A" * 29 + "B" in body["text"]["body"]


def test_reply_buttons_body() -> None:
    body = render_response(
        PHONE, {"text": "Pick one", "buttons": [{"title": "Yes", "payload": "/affirm"}]}
    ).bodies[0]
    assert body["interactive"] == {
        "type": "button",
        "body": {"text": "Pick one"},
        "action": {"buttons": [{"type": "reply", "reply": {"id": "/affirm", "title": "Yes"}}]},
    }


def test_list_label_is_localizable_and_validated() -> None:
    body = render_response(
        PHONE, {"text": "Scegli", "buttons": buttons(5)}, list_button_label="Opzioni"
    ).bodies[0]
    assert body["interactive"]["action"]["button"] == "Opzioni"
    with pytest.raises(ValueError, match="list_button_label"):
        render_response(PHONE, {"text": "x"}, list_button_label="x" * 21)


def test_empty_text_with_buttons_uses_the_localizable_prompt() -> None:
    body = render_response(PHONE, {"buttons": buttons(2)}, choice_prompt="Scegli:").bodies[0]
    assert body["interactive"]["body"]["text"] == "Scegli:"


def test_long_body_goes_first_as_text_then_interactive_with_prompt() -> None:
    text = words(1025)
    reply = render_response(PHONE, {"text": text, "buttons": buttons(2)})
    assert reply.bodies[0]["text"]["body"] == text.strip()
    assert reply.bodies[1]["interactive"]["body"]["text"] == DEFAULT_CHOICE_PROMPT


def test_image_caption_and_document_filename() -> None:
    reply = render_response(PHONE, {"text": "Look", "image": "https://x.test/a.jpg"})
    assert reply.bodies[0]["image"] == {"link": "https://x.test/a.jpg", "caption": "Look"}
    doc = render_response(PHONE, {"attachment": "https://x.test/files/Terms%20v2.pdf"}).bodies[0]
    assert doc["document"] == {
        "link": "https://x.test/files/Terms%20v2.pdf",
        "filename": "Terms v2.pdf",
    }


def test_custom_cannot_redirect_the_message() -> None:
    custom = {
        "type": "reaction",
        "to": "19999999999",
        "messaging_product": "x",
        "reaction": {"message_id": "wamid.X", "emoji": "👍"},
    }
    body = render_response(PHONE, {"custom": custom}).bodies[0]
    assert body["to"] == "16505551234" and body["messaging_product"] == "whatsapp"
    assert body["reaction"] == custom["reaction"]


def test_custom_raw_template_passes_through() -> None:
    template = {"name": "hello_world", "language": {"code": "en_US"}}
    body = render_response(PHONE, {"custom": {"template": template}}).bodies[0]
    assert body["type"] == "template" and body["template"] == template


def test_elements_number_choices_across_the_reply() -> None:
    long_buttons = buttons(2, title_len=30)
    reply = render_response(
        PHONE,
        {
            "elements": [
                {"title": "A", "buttons": long_buttons},
                {"title": "B", "buttons": long_buttons},
            ]
        },
    )
    assert list(reply.numbered_choices) == ["1", "2", "3", "4"]
    assert "3. " in reply.bodies[1]["text"]["body"]


def test_bsuid_recipient_uses_recipient_field() -> None:
    body = render_response(BSUID, {"text": "hi"}).bodies[0]
    assert body["recipient"] == "US.13491208655302741918" and "to" not in body


BAD_RESPONSES = [
    ("button_without_payload", {"text": "x", "buttons": [{"title": "Yes"}]}, "buttons[0].payload"),
    (
        "button_empty_title",
        {"text": "x", "buttons": [{"title": " ", "payload": "/a"}]},
        "buttons[0].title",
    ),
    ("buttons_not_a_list", {"text": "x", "buttons": "Yes"}, "buttons"),
    ("text_not_a_string", {"text": 42}, "text"),
    ("image_not_http", {"image": "file:///etc/passwd"}, "image"),
    (
        "attachment_bad_type",
        {"attachment": {"url": "https://x.test/a", "type": "sticker"}},
        "attachment.type",
    ),
    ("custom_for_another_channel", {"custom": {"blocks": []}}, "custom"),
    ("custom_not_a_mapping", {"custom": ["x"]}, "custom"),
    ("element_not_a_mapping", {"elements": ["x"]}, "elements[0]"),
]


@pytest.mark.parametrize(
    ("response", "field"), [c[1:] for c in BAD_RESPONSES], ids=[c[0] for c in BAD_RESPONSES]
)
def test_unrenderable_names_the_field(response: dict[str, Any], field: str) -> None:
    with pytest.raises(UnrenderableResponse, match=field.replace("[", r"\[").replace("]", r"\]")):
        render_response(PHONE, response)


def test_bad_custom_template_raises_template_error() -> None:
    with pytest.raises(TemplateError, match="template name"):
        render_response(PHONE, {"custom": {"template": {"name": "Bad-Name", "language": "en"}}})


def test_errors_and_reprs_never_show_recipient_or_text() -> None:
    secret_text = "my card is 4111111111111111"
    with pytest.raises(UnrenderableResponse) as info:
        render_response(PHONE, {"text": secret_text, "buttons": [{"title": secret_text}]})
    assert secret_text not in str(info.value) and "16505551234" not in str(info.value)
    reply = render_response(PHONE, {"text": secret_text})
    assert "16505551234" not in repr(PHONE) and secret_text not in repr(reply)
    assert "16505551234" not in repr(reply)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"phone": "16505551234", "bsuid": "US.1"},
        {"phone": "+16505551234"},
        {"phone": "1650 555"},
        {"bsuid": "us.1"},
    ],
    ids=["none", "both", "plus_sign", "space", "bsuid_lowercase_country"],
)
def test_recipient_validation(kwargs: dict[str, str]) -> None:
    with pytest.raises(ValueError) as info:
        Recipient(**kwargs)
    assert "16505551234" not in str(info.value)


def test_mark_read_body_matches_meta_example() -> None:
    example = load("meta-openapi__send-typing-indicator-and-read-receipt.json")
    assert mark_read_body(example["message_id"], typing=True) == example
    plain = mark_read_body("wamid.X")
    assert plain == {"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.X"}
    with pytest.raises(ValueError):
        mark_read_body("")
