"""Sends the consent confirmation template after a first opt-in made outside the chat.

A checkbox on the shop's site is the first step of the double opt-in; WhatsApp only lets a
business start a conversation with an approved template, so the second step is the template
named in bot/compliance.yml (`confirmation_template`), whose quick-reply button carries the
payload `/affirm`. The user's tap comes back through the webhook as that payload, and the consent
action confirms. Used by `python -m compliance consent optin`.

The send books on a pacer built as the channel builds its own (graph_clients.pacer_for, the same
keyed hash of the recipient): with WHATSAPP_PACING_REDIS_URL the CLI's send counts against the
rate every Rasa server shares and waits out a 131056 penalty the channel recorded for that user,
as any reply would. The settings are the channel's: its block of Rasa's credentials.yml (the CLI
reads it with credentials_file.py), with the WHATSAPP_* environment for the keys it leaves out.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import httpx

from compliance.gate import ComplianceGate
from connectors.whatsapp.config import WhatsAppConfig
from connectors.whatsapp.graph_clients import graph_client_for, pacer_for
from connectors.whatsapp.output_channel import recipient_for
from connectors.whatsapp.templates import template_message

CONFIRM_PAYLOAD = "/affirm"


async def send_confirmation_template(
    gate: ComplianceGate,
    subject: str,
    *,
    config: WhatsAppConfig | None = None,
    environ: Mapping[str, str] = os.environ,
    transport: httpx.AsyncBaseTransport | None = None,
) -> str:
    """Send the confirmation template to `subject` in their language; the sent message's hash.
    `config` is the channel's settings (default: from the WHATSAPP_* settings in `environ`);
    `transport` is for tests (httpx.MockTransport)."""
    config = config or WhatsAppConfig.from_credentials(None, environ)
    settings = gate.context.settings
    identifier = gate.recipient(subject)
    calling_code = identifier.value.lstrip("+")[:3] if identifier.kind.value == "phone" else None
    language = _language(settings, calling_code)
    template = settings.confirmation_template.get(language) or next(
        iter(settings.confirmation_template.values())
    )
    body = template_message(
        recipient_for(identifier), template.name, template.language, buttons=[CONFIRM_PAYLOAD]
    )
    # The channel's recipient key (channel.py), so that Redis sees one user under one hash.
    pacer = pacer_for(config, lambda recipient: gate.keyed_hash("pacing", recipient))
    try:
        async with graph_client_for(config, pacer, transport) as graph:
            result = await graph.send(body, pacing_key=subject)
    finally:
        await pacer.aclose()  # the Redis connection belongs to this (the CLI's) loop
    id_hash = gate.keyed_hash("message_id", result.message_id)
    gate.on_outbound(subject, "template", id_hash, "confirmation_template")
    return id_hash


def _language(settings, digits: str | None) -> str:  # type: ignore[no-untyped-def]
    """The language of a number's calling code (1 to 3 leading digits), else the default."""
    for length in (1, 2, 3):
        if digits and digits[:length] in settings.language_by_calling_code:
            return settings.language_by_calling_code[digits[:length]]
    return settings.default_language
