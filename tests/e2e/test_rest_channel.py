"""Rasa's REST channel on the same server: it answers like any Rasa REST channel, but the sender
id a client sends never reaches Rasa's stores: they see its pseudonym, as for WhatsApp."""

from __future__ import annotations

import httpx
import pytest
import sqlalchemy as sa

from connectors.rest import rest_subject

pytestmark = pytest.mark.e2e


def test_rest_conversation_in_both_languages_under_a_pseudonym(bot_stack, stack_context) -> None:
    with httpx.Client(base_url=bot_stack.rasa_url, timeout=60) as http:

        def say(sender: str, text: str) -> list[str]:
            answer = http.post("/webhooks/rest/webhook", json={"sender": sender, "message": text})
            assert answer.status_code == 200
            return [m.get("text", "") for m in answer.json()]

        english = say("rest-user-en", "hello")
        assert any("Privacy notice" in t for t in english)
        italian = say("rest-user-it", "ciao, vorrei sapere dov'è il mio ordine")
        assert any("Informativa privacy" in t for t in italian)
    subject = rest_subject("rest-user-en", stack_context.keyring.pseudonym_key)
    with stack_context.engine.connect() as conn:
        query = sa.text("SELECT sender_id FROM tracker_conversations")
        senders = set(conn.execute(query).scalars())
    assert subject in senders
    assert not {"rest-user-en", "rest-user-it"} & senders
