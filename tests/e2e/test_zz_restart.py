"""A message acknowledged to Meta survives a crash of the Rasa server before the reply: after a
restart it is processed and answered exactly once (design.md invariant 5).

Runs last among the end-to-end tests, since it restarts the shared Rasa server."""

from __future__ import annotations

import time

import pytest

from connectors.whatsapp.simulator.client import text_of

pytestmark = pytest.mark.e2e


def test_a_crash_between_acknowledgement_and_reply_loses_nothing(
    bot_stack, simulator, give_consent
) -> None:
    user = "447700900300"
    give_consent("+" + user)
    actions = bot_stack.process("action server")
    # A frozen action server holds the turn at action_order_status, before any reply is sent.
    actions.pause()
    try:
        answer = simulator.send(user, text="where is my order D3456?")
        assert answer["webhook_status"] == 200  # acknowledged: from here on it is ours to keep
        time.sleep(3)  # NLU ran; the turn now waits on the action server
        bot_stack.process("Rasa server").kill()
    finally:
        actions.resume()
    assert simulator.messages(user)["messages"] == []
    bot_stack.restart_rasa()
    replies = simulator.replies(user, 0, count=1, wait=90)
    assert len(replies) == 1 and "D3456" in text_of(replies[0])
    assert len(simulator.messages(user, wait=3)["messages"]) == 1
