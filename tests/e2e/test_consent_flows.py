"""Consent as users live it on WhatsApp: double opt-in, refusal, STOP and START, in English and
Italian, through the real Rasa server, action server, channel and simulator."""

from __future__ import annotations

import pytest

from connectors.whatsapp.simulator.client import text_of

pytestmark = pytest.mark.e2e


def buttons(message: dict) -> list[dict]:
    return [b["reply"] for b in message["body"]["interactive"]["action"]["buttons"]]


def optin_on_the_site(bot_stack, user: str, purpose: str, evidence_id: str) -> str:  # type: ignore[no-untyped-def]
    """The shop's web form: `python -m compliance consent optin`, as an operator's script runs
    it; returns what the command printed."""
    import os
    import subprocess
    import sys

    from devstack.training import ROOT

    optin = subprocess.run(
        [
            sys.executable,
            "-m",
            "compliance",
            "consent",
            "optin",
            "--phone",
            "+" + user,
            "--purpose",
            purpose,
            "--evidence-id",
            evidence_id,
        ],
        cwd=ROOT,
        env={**os.environ, **bot_stack.env},
        capture_output=True,
        text=True,
    )
    assert optin.returncode == 0, optin.stderr
    return optin.stdout


def test_double_opt_in_in_the_chat_then_the_question_is_answered(
    converse, audit_kinds, stack_context
) -> None:
    user = "447700900400"
    notice, question = converse(user, count=2, text="where is my order A1234?")
    assert "Privacy notice v" in text_of(notice) and "https://" in text_of(notice)
    assert [b["title"] for b in buttons(question)] == ["Yes", "No"]
    (confirm,) = converse(user, button_reply=buttons(question)[0])
    assert "tap Confirm" in text_of(confirm)
    (done,) = converse(user, button_reply=buttons(confirm)[0])
    assert "You'll receive updates" in text_of(done)
    (status,) = converse(user, text="where is my order A1234?")
    assert "A1234" in text_of(status) and "shipped" in text_of(status)
    subject = stack_context.vault.pseudonym_of("phone", "+" + user)
    kinds = audit_kinds(subject)
    assert kinds.count("consent_change") >= 3
    # Every turn in the log: the inbound message, the bot's actions, each outbound message.
    assert {"inbound_message", "bot_action", "outbound_message"} <= set(kinds)


def test_italian_double_opt_in_from_the_calling_code(converse) -> None:
    user = "393331230400"
    notice, question = converse(user, count=2, text="ciao")
    assert text_of(notice).startswith("Informativa privacy")
    assert [b["title"] for b in buttons(question)] == ["Sì", "No"]


def test_a_refusal_is_acknowledged_once_and_then_nothing_is_sent(converse, simulator) -> None:
    user = "447700900401"
    _, question = converse(user, count=2, text="hello")
    (ack,) = converse(user, button_reply=buttons(question)[1])
    assert "won't send you order updates" in text_of(ack)
    before = simulator.next_index(user)
    simulator.send(user, text="where is my order A1234?")
    assert simulator.messages(user, after=before, wait=4)["messages"] == []


def test_stop_is_confirmed_once_and_start_runs_the_double_opt_in_again(
    converse, simulator, give_consent, audit_kinds
) -> None:
    user = "447700900402"
    subject = give_consent("+" + user)
    assert converse(user, text="hi")
    (bye,) = converse(user, text="STOP")
    assert "unsubscribed" in text_of(bye)
    before = simulator.next_index(user)
    simulator.send(user, text="where is my order A1234?")
    simulator.send(user, text="STOP")
    # A data request after STOP: nothing is sent, but the DPO finds it in the audit log.
    simulator.send(user, text="delete my data")
    assert "access_request" in audit_kinds(subject, until="access_request")
    assert simulator.messages(user, after=before, wait=4)["messages"] == []
    again = converse(user, count=2, text="START")
    assert "Welcome back" in text_of(again[0])


def test_a_first_opt_in_on_the_shop_site_is_confirmed_by_a_tap_on_the_template(
    bot_stack, simulator, converse
) -> None:
    user = "447700900403"
    printed = optin_on_the_site(bot_stack, user, "service", "web-form-42")
    assert user not in printed  # the operator sees the pseudonym, never the number
    (template,) = simulator.replies(user, 0, count=1)
    assert template["body"]["type"] == "template"
    assert template["body"]["template"]["name"] == "sigillo_consent_confirmation"
    (done,) = converse(user, button={"payload": "/affirm", "text": "Confirm"})
    assert "You'll receive updates" in text_of(done)


def test_a_subscriber_opting_in_to_offers_on_the_site_confirms_with_the_template_tap(
    bot_stack, simulator, converse, give_consent, stack_context
) -> None:
    user = "447700900480"
    subject = give_consent("+" + user)
    assert converse(user, text="where is my order A1234?")  # a conversation under way
    before = simulator.next_index(user)
    optin_on_the_site(bot_stack, user, "marketing", "web-form-43")
    (template,) = simulator.replies(user, before, count=1)
    assert template["body"]["template"]["name"] == "sigillo_consent_confirmation"
    (done,) = converse(user, button={"payload": "/affirm", "text": "Confirm"})
    assert "keep receiving offers" in text_of(done)
    assert stack_context.ledger.state(subject)["marketing"].value == "confirmed"
    assert stack_context.ledger.state(subject)["service"].value == "confirmed"


def test_the_user_gets_their_data_as_a_document_then_erasure_shreds_it(
    converse, simulator, give_consent, stack_context, audit_kinds
) -> None:
    from compliance.errors import SubjectErased

    user = "447700900404"
    subject = give_consent("+" + user)
    assert converse(user, text="where is my order A1234?")
    summary, document = converse(user, count=2, text="what data do you have on me?")
    assert "This is the data we hold about you" in text_of(summary)
    assert document["body"]["type"] == "document"
    assert document["body"]["document"]["filename"] == "my-data.json"
    (question,) = converse(user, text="delete my data")
    assert [b["title"] for b in buttons(question)] == ["Yes, delete", "No, keep it"]
    (deleted,) = converse(user, button_reply=buttons(question)[0])
    assert "Your data has been deleted" in text_of(deleted)
    kinds = audit_kinds(subject, until="erasure")
    assert "access_request" in kinds and "erasure" in kinds
    with pytest.raises((SubjectErased, LookupError)):
        stack_context.vault.resolve(subject)
