"""The WhatsApp Cloud API channel for Rasa 3.6.

bot/credentials.yml names `connectors.whatsapp.WhatsAppInput`; Rasa then serves the webhook at
/webhooks/whatsapp/webhook. Settings come from the credentials entry or from the WHATSAPP_*
environment variables (see config.py).

The channel classes are imported lazily: the simulator and the pure modules of this package must
not pay for importing Rasa.
"""

from __future__ import annotations

from typing import Any

__all__ = ["WhatsAppInput", "WhatsAppOutput"]


def __getattr__(name: str) -> Any:
    if name == "WhatsAppInput":
        from connectors.whatsapp.channel import WhatsAppInput

        return WhatsAppInput
    if name == "WhatsAppOutput":
        from connectors.whatsapp.output_channel import WhatsAppOutput

        return WhatsAppOutput
    raise AttributeError(name)
