"""InboundMessage → RasaInput: payloads, intents for non-text, safe metadata, calling codes."""

from __future__ import annotations

import pytest

from connectors.whatsapp import calling_codes
from connectors.whatsapp.calling_codes import calling_code
from connectors.whatsapp.inbound_mapping import (
    INTENT_FLOW_COMPLETED,
    INTENT_MEDIA_RECEIVED,
    INTENT_UNSUPPORTED,
    may_pick_numbered_choice,
    neutralize_text,
    to_rasa_input,
)
from connectors.whatsapp.webhook_models import (
    ButtonReply,
    FlowReply,
    InboundMessage,
    ListReply,
    Location,
    Media,
    MediaKind,
    MessageContext,
    MessageType,
    Reaction,
    SenderRef,
    SharedContacts,
    TemplateButton,
    Text,
    Unsupported,
)

PHONE = "+393331234567"


def message(content, sender=None, context=None) -> InboundMessage:
    return InboundMessage(
        message_id="wamid.HBgLMzkzMzMxMjM0NTY3", timestamp=1750000000,
        phone_number_id="106540352242922", display_phone_number="15550783881",
        sender=sender or SenderRef(phone=PHONE, user_id="IT.998877", profile_name="Ada"),
        type=MessageType.TEXT, content=content, context=context,
    )


@pytest.mark.parametrize(
    ("content", "text", "kind"),
    [
        (Text("ciao"), "ciao", "text"),
        (ButtonReply(id="/affirm", title="Sì"), "/affirm", "button_reply"),
        (ListReply(id="/choose_plan{\"plan\":\"gold\"}", title="Gold"),
         "/choose_plan{\"plan\":\"gold\"}", "list_reply"),
        (TemplateButton(payload="STOP_PROMOS", text="Stop"), "STOP_PROMOS", "template_button"),
        (TemplateButton(payload="", text="Stop"), "Stop", "template_button"),
        (FlowReply(response={"a": 1}), INTENT_FLOW_COMPLETED, "flow_reply"),
        (Media(kind=MediaKind.AUDIO, media_id="9", voice=True), INTENT_MEDIA_RECEIVED, "audio"),
        (Media(kind=MediaKind.IMAGE, media_id="9", caption="rotto?"), "rotto?", "image"),
        (Location(latitude=45.0, longitude=9.0), "/location_shared", "location"),
        (SharedContacts(count=2, contacts=({}, {})), "/contacts_shared", "contacts"),
        (Reaction(message_id="wamid.Y", emoji=None), "/reaction_received", "reaction"),
        (Unsupported("unknown_type", "poll"), INTENT_UNSUPPORTED, "unsupported"),
    ],
    ids=lambda v: v if isinstance(v, str) and not v.startswith("/") else None,
)
def test_mapping(content, text, kind):
    rasa = to_rasa_input(message(content))
    assert rasa.text == text
    assert rasa.metadata["message_type"] == kind
    assert rasa.metadata["country_code"] == "39"


def test_metadata_never_holds_identifiers():
    content = Media(kind=MediaKind.DOCUMENT, media_id="77", mime_type="application/pdf",
                    caption="my tax return", filename="tax.pdf", url="https://lookaside/x")
    rasa = to_rasa_input(message(content, context=MessageContext(reply_to_id="wamid.PREV",
                                                                 forwarded=True)))
    flat = repr(rasa.metadata)
    for forbidden in (PHONE, PHONE[1:], "IT.998877", "Ada", "wamid", "tax.pdf", "lookaside",
                      "my tax return"):
        assert forbidden not in flat
    assert rasa.metadata["has_caption"] is True
    assert rasa.metadata["media_id"] == "77"
    assert rasa.metadata["forwarded"] is True
    assert "my tax return" not in repr(rasa)


def test_flow_response_in_metadata():
    rasa = to_rasa_input(message(FlowReply(response={"size": "M"}, name="flow")))
    assert rasa.metadata["flow_response"] == {"size": "M"}


@pytest.mark.parametrize(
    ("typed", "want"),
    [("2", "/deny"), (" 2. ", "/deny"), ("2)", "/deny"), ("#1", "/affirm"), ("3", "3"),
     ("2 please", "2 please"), ("22", "22")],
)
def test_numbered_choices(typed, want):
    rasa = to_rasa_input(message(Text(typed)), {"1": "/affirm", "2": "/deny"})
    assert rasa.text == want
    assert rasa.metadata.get("numbered_choice", False) is (want.startswith("/"))


def test_numbered_choices_only_for_text():
    rasa = to_rasa_input(message(ButtonReply(id="/x", title="x")), {"1": "/affirm"})
    assert rasa.text == "/x"


@pytest.mark.parametrize(
    ("content", "want"),
    [(Text("2"), True), (Text(" #3. "), True), (Text("2)"), True), (Text("22"), True),
     (Text("2 please"), False), (Text("hello"), False), (Text("1234"), False),
     (ButtonReply(id="2", title="2"), False), (Location(45.0, 9.0), False)],
)
def test_the_numbered_choices_are_read_only_for_what_could_pick_one(content, want):
    # The webhook reads the sender's choices from the database only when this says so; every
    # message it says no to maps the same with or without them (test_numbered_choices).
    assert may_pick_numbered_choice(message(content)) is want
    if not want:
        choices = {"1": "/affirm", "2": "/deny", "3": "/x"}
        assert to_rasa_input(message(content), choices) == to_rasa_input(message(content))


@pytest.mark.parametrize(
    ("typed", "want"),
    [("/consent_confirmed", "consent_confirmed"), ("  //restart", "restart"), ("/", ""),
     ("a/b", "a/b"), (" hi ", " hi ")],
)
def test_free_text_cannot_forge_an_intent(typed, want):
    assert neutralize_text(typed) == want
    assert not to_rasa_input(message(Text(typed))).text.strip().startswith("/")


def test_caption_cannot_forge_an_intent():
    rasa = to_rasa_input(message(Media(kind=MediaKind.IMAGE, media_id="1", caption="/affirm")))
    assert rasa.text == "affirm"


def test_bsuid_only_sender_gets_region_not_country_code():
    rasa = to_rasa_input(message(Text("hi"), sender=SenderRef(user_id="IT.998877")))
    assert rasa.metadata["country_code"] is None
    assert rasa.metadata["region"] == "IT"


@pytest.mark.parametrize(
    ("e164", "want"),
    [("+16505551234", "1"), ("+79161234567", "7"), ("+393331234567", "39"),
     ("+442071234567", "44"), ("+4915112345678", "49"), ("+201001234567", "20"),
     ("+35312345678", "353"), ("+380501234567", "380"), ("+9715012345678", "971"),
     ("+8613812345678", "86"), ("+85291234567", "852"), ("+5511912345678", "55"),
     ("+2348012345678", "234"), ("+9999999999", None), ("+2812345678", None),
     ("16505551234", None), ("+", None), (None, None), ("+1６", None)],
)
def test_calling_code(e164, want):
    assert calling_code(e164) == want


def test_calling_code_table_is_prefix_free():
    codes = calling_codes._ONE_DIGIT | calling_codes._TWO_DIGIT | calling_codes._THREE_DIGIT
    assert all(len(c) == n for n, table in ((1, calling_codes._ONE_DIGIT),
               (2, calling_codes._TWO_DIGIT), (3, calling_codes._THREE_DIGIT)) for c in table)
    for code in codes:
        assert not [other for other in codes if other != code and other.startswith(code)]
