"""Rasa's REST channel, with the sender id pseudonymized before Rasa sees it.

`connectors.rest.PseudonymousRestInput` in bot/credentials.yml serves /webhooks/rest/webhook
exactly like Rasa's `rest` channel, except that the `sender` a client sends ("me", a customer
number, an e-mail) is replaced by its keyed pseudonym (`wa_…`), so that the tracker store, the
lock store, the consent ledger, the audit log and the logs see only pseudonyms (design.md
invariant 2), as they do for WhatsApp. The same sender always maps to the same pseudonym.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint
from sanic.request import Request

from compliance.identity import pseudonymize
from connectors.server_heap import freeze_after_start

__all__ = ["PseudonymousRestInput", "rest_subject"]

_DOMAIN = "rest-sender:"


def rest_subject(sender: str, pseudonym_key: bytes) -> str:
    """The pseudonym Rasa sees for a REST `sender` (domain-separated from phone numbers)."""
    return pseudonymize(_DOMAIN + sender, pseudonym_key)


class PseudonymousRestInput(RestInput):
    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> PseudonymousRestInput:
        from compliance.keys import load_keyring

        return cls(load_keyring().pseudonym_key)

    def __init__(self, pseudonym_key: bytes) -> None:
        self._key = pseudonym_key

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        bp = super().blueprint(on_new_message)
        freeze_after_start(bp)
        return bp

    async def _extract_sender(self, req: Request) -> str | None:
        sender = (req.json or {}).get("sender")
        if sender is None:
            return None
        return rest_subject(str(sender), self._key)
