"""The 24-hour customer-service window, enforced by the channel for messages the business starts
(here through Rasa's HTTP API, as a back-office system would trigger them)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import httpx
import pytest

from tests.e2e.rasa_api import trigger

pytestmark = pytest.mark.e2e



def test_free_form_outside_the_window_is_refused_and_audited(
    bot_stack, simulator, converse, give_consent, stack_context, audit_kinds
) -> None:
    user = "447700900405"
    subject = give_consent("+" + user)
    assert converse(user, text="hi")
    # The user's last message was 25 hours ago.
    stack_context.ledger.record_inbound(subject, datetime.now(timezone.utc) - timedelta(hours=25))
    before = simulator.next_index(user)
    trigger(bot_stack, subject, "delivery_times")
    assert "send_refused" in audit_kinds(subject, until="send_refused")
    assert simulator.messages(user, after=before, wait=3)["messages"] == []


def test_a_131047_failure_closes_the_window_for_the_next_message(
    bot_stack, simulator, converse, give_consent, audit_kinds
) -> None:
    user = "447700900406"
    subject = give_consent("+" + user)
    assert converse(user, text="hi")
    # Meta's side believes the window closed (e.g. clocks differ): it fails the send with 131047.
    httpx.post(f"{bot_stack.simulator_url}/_sim/users/{user}/age_window", json={"hours": 25})
    before = simulator.next_index(user)
    trigger(bot_stack, subject, "delivery_times")
    failed = simulator.messages(user, after=before, wait=20, status="failed")["messages"]
    assert failed and 131047 in [e.get("code") for e in failed[0]["errors"]]
    assert "delivery_status" in audit_kinds(subject, until="delivery_status")
    trigger(bot_stack, subject, "returns")  # the channel now knows: refused, never sent
    assert "send_refused" in audit_kinds(subject, until="send_refused")
    assert len(simulator.messages(user, after=before, wait=3)["messages"]) == 1
