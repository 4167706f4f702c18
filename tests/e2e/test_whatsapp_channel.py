"""The WhatsApp channel end to end: the simulator plays Meta and the users, a real Rasa server
and action server answer, and the compliance layer records everything."""

from __future__ import annotations

import time

import httpx
import pytest

from connectors.whatsapp.simulator import webhooks as wh
from connectors.whatsapp.simulator.client import text_of
from devstack.stack import SIMULATOR_SETTINGS

pytestmark = pytest.mark.e2e

EN_USER = "447700900123"  # a UK number (Ofcom's drama range): English
IT_USER = "393331234567"  # +39: Italian


def test_an_english_conversation_with_buttons(simulator, converse, give_consent) -> None:
    give_consent("+" + EN_USER)
    (menu,) = converse(EN_USER, text="help")
    assert menu["type"] == "interactive"
    buttons = menu["body"]["interactive"]["action"]["buttons"]
    assert [b["reply"]["title"] for b in buttons] == ["Order status", "Delivery times", "Returns"]
    returns = buttons[2]["reply"]
    (answer,) = converse(EN_USER, button_reply=returns)
    assert "30 days" in text_of(answer)
    (status,) = converse(EN_USER, text="where is my order A1234?")
    assert "A1234" in text_of(status) and "shipped" in text_of(status)


def test_an_italian_conversation(simulator, converse, give_consent) -> None:
    give_consent("+" + IT_USER)
    (greeting,) = converse(IT_USER, text="ciao")
    assert text_of(greeting).startswith("Ciao")
    (status,) = converse(IT_USER, text="dov'è il mio ordine B5678?")
    assert "Ordine B5678" in text_of(status)


def test_a_redelivered_webhook_yields_exactly_one_reply(simulator, converse, give_consent) -> None:
    user = "447700900124"
    give_consent("+" + user)
    replies = converse(user, text="what are your delivery times?", duplicate=True)
    assert len(replies) == 1
    # Give a second turn every chance to appear: it must not.
    later = simulator.messages(user, after=0, wait=3)
    assert len(later["messages"]) == 1
    assert len(later["marked_read"]) == 1  # one turn, one read receipt


def test_a_rate_limited_reply_is_retried_and_sent_once(simulator, converse, give_consent) -> None:
    user = "447700900125"
    give_consent("+" + user)
    before = simulator.stats()
    # Three 429s: the mark-as-read and the reply both meet at least one of them.
    simulator.faults(
        {"kind": "graph_error", "status": 429, "code": 130429, "count": 3, "retry_after": 1}
    )
    (answer,) = converse(user, text="how do returns work?")
    assert "30 days" in text_of(answer)
    assert len(simulator.messages(user, wait=2)["messages"]) == 1
    assert simulator.stats() != before


def test_the_channel_refuses_what_consent_forbids_even_when_the_bot_sends_it(
    simulator, converse, give_consent, stack_context, audit_kinds
) -> None:
    user = "447700900126"
    subject = give_consent("+" + user)
    assert converse(user, text="hello")  # the session starts with consent confirmed
    # Consent withdrawn elsewhere (the operator's CLI, Meta's user_preferences): the running
    # conversation still believes it has consent, the channel knows better.
    stack_context.ledger.withdraw(subject, ["service"], method="cli")
    simulator.send(user, text="what are your delivery times?")
    kinds = audit_kinds(subject, until="send_refused")
    assert "send_refused" in kinds
    assert len(simulator.messages(user, wait=2)["messages"]) == 1  # only the greeting


@pytest.mark.parametrize(
    "signature, status", [("bad", 403), ("none", 401)], ids=["wrong signature", "no signature"]
)
def test_an_unsigned_or_badly_signed_webhook_is_rejected(simulator, signature, status) -> None:
    user = "447700900127"
    answer = simulator.send(user, text="hello", signature=signature)
    assert answer["webhook_status"] == status
    assert simulator.messages(user, wait=1)["messages"] == []


def test_the_rasa_servers_own_route_still_serves_meta(
    bot_stack, simulator, converse, give_consent
) -> None:
    """The webhook front serves Meta's callback; the server's own route stays as a fallback
    (for a proxy not yet switched): a webhook posted there is recorded and answered too."""
    user = "447700900128"
    give_consent("+" + user)
    converse(user, text="hello")  # the simulator now knows this user
    seen = len(simulator.messages(user)["messages"])
    business = wh.Business(
        "102290129340398", SIMULATOR_SETTINGS["WHATSAPP_PHONE_NUMBER_ID"], "15550783881"
    )
    body = wh.inbound(
        business,
        wh.WhatsAppUser(wa_id=user, name="Fallback"),
        "wamid.fallback-route-1",
        int(time.time()),
        wh.text("how do returns work?"),
    )
    raw = wh.serialize(body)
    answer = httpx.post(
        bot_stack.rasa_url + "/webhooks/whatsapp/webhook",
        content=raw,
        headers={
            "X-Hub-Signature-256": wh.sign(SIMULATOR_SETTINGS["WHATSAPP_APP_SECRET"], raw),
            "Content-Type": "application/json",
        },
    )
    assert answer.status_code == 200 and answer.json()["accepted"] == 1
    (reply,) = simulator.replies(user, seen, count=1, wait=45)
    assert "30 days" in text_of(reply)
