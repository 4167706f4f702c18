"""What counts as yes to a consent question (compliance/consent/answers.py): the Yes/Confirm
payload or a word of keywords.confirm; the NLU's affirm alone is a doubtful yes, never consent."""

from __future__ import annotations

import pytest

from compliance.consent.answers import AFFIRM_PAYLOAD, Answer, consent_answer
from compliance.consent.settings import load_settings
from connectors.whatsapp.inbound_mapping import neutralize_text, to_rasa_input
from connectors.whatsapp.webhook_models import (
    ButtonReply,
    InboundMessage,
    MessageType,
    SenderRef,
    TemplateButton,
    Text,
)

KEYWORDS = load_settings("bot/compliance.yml").keywords

CASES = [
    # label, NLU intent, text as Rasa received it, answer
    ("tap on Yes / Confirm", "affirm", "/affirm", Answer.YES),
    ("payload with spaces around", "affirm", " /affirm\n", Answer.YES),
    ("payload whatever the NLU says", None, "/affirm", Answer.YES),
    ("typed YES", "affirm", "YES", Answer.YES),
    ("typed yes with a mark", "affirm", "Yes!", Answer.YES),
    ("typed yes please", "affirm", "yes please", Answer.YES),
    ("typed confirm", "affirm", "confirm.", Answer.YES),
    ("typed sì", "affirm", "sì", Answer.YES),
    ("typed si without accent", "affirm", "Si", Answer.YES),
    ("typed sì, va bene", "affirm", "sì, va bene", Answer.YES),
    ("typed confermo", "affirm", "CONFERMO", Answer.YES),
    ("explicit word beats a wrong intent", "greet", "yes", Answer.YES),
    # doubtful: the NLU says affirm, the message is no explicit act
    ("question marks", "affirm", "??", Answer.UNCLEAR),
    ("an emoji", "affirm", "🙂", Answer.UNCLEAR),
    ("thumbs up", "affirm", "👍", Answer.UNCLEAR),
    ("yes with a question", "affirm", "yes but what for?", Answer.UNCLEAR),
    ("random letters", "affirm", "zxcvb", Answer.UNCLEAR),
    ("no text at all", "affirm", None, Answer.UNCLEAR),
    ("another payload", "affirm", "/affirm_everything", Answer.UNCLEAR),
    ("a payload with entities is not our button", "affirm", '/affirm{"x": 1}', Answer.UNCLEAR),
    # no
    ("tap on No / Not now", "deny", "/deny", Answer.NO),
    ("typed no thanks", "deny", "no thanks", Answer.NO),
    # not an answer
    ("an order question", "order_status", "where is my order A1234?", Answer.NONE),
    ("STOP is not an answer here", "opt_out", "STOP", Answer.NONE),
    ("media", None, "/media_received", Answer.NONE),
]


@pytest.mark.parametrize(
    ("intent", "text", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_consent_answer(intent: str | None, text: str | None, expected: Answer) -> None:
    assert consent_answer(intent, text, KEYWORDS) is expected


@pytest.mark.parametrize("typed", ["/affirm", " /affirm", "//affirm", "/ affirm"])
def test_a_typed_payload_cannot_forge_the_tap(typed: str) -> None:
    """The WhatsApp channel strips the leading "/" of typed text (inbound_mapping.py), so what
    the user types reaches Rasa as "affirm" and is at most a doubtful yes."""
    assert consent_answer("affirm", neutralize_text(typed), KEYWORDS) is Answer.UNCLEAR


def test_the_buttons_and_the_template_send_the_payload_that_counts() -> None:
    from connectors.whatsapp.confirmation import CONFIRM_PAYLOAD

    assert CONFIRM_PAYLOAD == AFFIRM_PAYLOAD


def _inbound(content) -> InboundMessage:  # noqa: ANN001
    return InboundMessage(
        message_id="wamid.X",
        timestamp=1750000000,
        phone_number_id="106540352242922",
        display_phone_number="15550783881",
        sender=SenderRef(phone="+393331234567"),
        type=MessageType.TEXT,
        content=content,
    )


CHOICES = {"1": "/affirm", "2": "/deny"}
CHANNEL_CASES = [
    # label, what the user did on WhatsApp, answer once the channel mapped it for Rasa
    ("tap on Confirm", ButtonReply(id="/affirm", title="Confirm"), Answer.YES),
    ("typed 1 for the numbered Confirm", Text("1"), Answer.YES),
    ("typed 2 for the numbered Not now", Text("2."), Answer.NO),
    ("template quick reply", TemplateButton(payload="/affirm", text="Confirm"), Answer.YES),
    ("typed /affirm", Text("/affirm"), Answer.UNCLEAR),
    ("typed ??", Text("??"), Answer.UNCLEAR),
]


@pytest.mark.parametrize(
    ("content", "expected"), [c[1:] for c in CHANNEL_CASES], ids=[c[0] for c in CHANNEL_CASES]
)
def test_what_the_whatsapp_channel_hands_rasa(content, expected: Answer) -> None:  # noqa: ANN001
    """Through the channel's own mapping; the NLU is assumed to say affirm (deny for "/deny",
    as Rasa's payload parsing does), its worst case."""
    text = to_rasa_input(_inbound(content), CHOICES).text
    intent = "deny" if text == "/deny" else "affirm"
    assert consent_answer(intent, text, KEYWORDS) is expected
