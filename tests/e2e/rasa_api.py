"""Rasa's HTTP API as the e2e tests use it: what a business does to start a conversation."""

from __future__ import annotations

import httpx


def trigger(stack, subject: str, intent: str) -> None:  # type: ignore[no-untyped-def]
    """A business-initiated message: trigger `intent` for `subject`, replies via WhatsApp."""
    answer = httpx.post(
        f"{stack.rasa_url}/conversations/{subject}/trigger_intent",
        params={"output_channel": "whatsapp"},
        json={"name": intent},
        timeout=60,
    )
    assert answer.status_code == 200, answer.text
