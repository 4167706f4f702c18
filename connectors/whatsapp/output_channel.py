"""Rasa's OutputChannel for WhatsApp: every bot message passes the compliance gate, is rendered
within WhatsApp's limits and sent through the Graph client, here or by the webhook front
(sending.py).

Rasa calls `send_response` once per bot utterance with the pseudonym as recipient id; the phone
number is resolved through the vault only here, at the last moment, and never logged.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa.core.channels.channel import OutputChannel

from connectors.whatsapp.export_delivery import (
    ExportPointerError,
    data_dir,
    document_body,
    read_export,
)
from connectors.whatsapp.gate import EXPORT_DOCUMENT, Gate
from connectors.whatsapp.graph_client import GraphClient
from connectors.whatsapp.graph_errors import GraphError
from connectors.whatsapp.inbox import Inbox
from connectors.whatsapp.outbound_rendering import Recipient, UnrenderableResponse, render_response
from connectors.whatsapp.sender_identity import IdentifierKind, SubjectIdentifier
from connectors.whatsapp.sending import LocalSender, Sender
from connectors.whatsapp.templates import template_message

logger = logging.getLogger(__name__)


def recipient_for(identifier: SubjectIdentifier) -> Recipient:
    if identifier.kind == IdentifierKind.PHONE:
        return Recipient(phone=identifier.value.lstrip("+"))
    return Recipient(bsuid=identifier.value)


class WhatsAppOutput(OutputChannel):
    @classmethod
    def name(cls) -> str:
        return "whatsapp"

    def __init__(
        self,
        graph: GraphClient,
        gate: Gate,
        inbox: Inbox,
        recipient: SubjectIdentifier | None = None,
        sender: Sender | None = None,
    ) -> None:
        """`recipient`: resolved at the start of the turn, so that the last message of an
        erasure (whose vault entry is gone by then) still reaches the person who asked.
        `sender`: who sends the rendered bodies (sending.py); default: `graph`, here."""
        self._graph = graph
        self._gate = gate
        self._inbox = inbox
        self._recipient = recipient
        self._sender = sender or LocalSender(graph, gate)

    def _resolve(self, subject: str) -> SubjectIdentifier:
        if self._recipient is None:
            self._recipient = self._gate.recipient(subject)
        return self._recipient

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        custom = message.get("custom")
        if isinstance(custom, dict) and "sigillo_export" in custom:
            await self._send_export(recipient_id, custom["sigillo_export"])
            return
        utter_action = message.get("utter_action")
        decision = self._gate.check_send(recipient_id, message)
        if not decision.allowed:
            self._gate.on_send_refused(recipient_id, decision.reason, utter_action)
            logger.info("whatsapp.send.refused subject=%s reason=%s", recipient_id, decision.reason)
            return
        recipient = recipient_for(self._resolve(recipient_id))
        if decision.template is not None:
            bodies = [
                template_message(
                    recipient, decision.template["name"], decision.template["language"]
                )
            ]
        else:
            try:
                rendered = render_response(recipient, message)
            except UnrenderableResponse as exc:
                logger.error("whatsapp.send.unrenderable subject=%s field=%s", recipient_id, exc)
                self._gate.on_send_failed(recipient_id, None, "unrenderable")
                return
            if message.get("buttons") or rendered.numbered_choices:
                self._inbox.save_choices(recipient_id, rendered.numbered_choices)
            bodies = rendered.bodies
        await self._sender.send_all(recipient_id, bodies, utter_action)

    async def _send_export(self, recipient_id: str, pointer: Any) -> None:
        """Open the sealed export, upload it, send it as a document, delete the file."""
        # Asked like any other message: after STOP, or for an erased subject, nothing goes, and
        # a template cannot carry the document (outside the window it waits for a new request).
        decision = self._gate.check_send(recipient_id, {"utter_action": EXPORT_DOCUMENT})
        if not decision.allowed or decision.template is not None:
            reason = decision.reason if not decision.allowed else "outside_window"
            self._gate.on_send_refused(recipient_id, reason, EXPORT_DOCUMENT)
            logger.info("whatsapp.export.refused subject=%s reason=%s", recipient_id, reason)
            return
        try:
            export = read_export(pointer, recipient_id, data_dir())
            data = self._gate.open(recipient_id, export.field, export.token)
            media_id = await self._graph.upload_media(data, export.mime_type, export.filename)
        except (ExportPointerError, OSError, ValueError, GraphError) as exc:
            logger.error(
                "whatsapp.export.failed subject=%s error=%s", recipient_id, type(exc).__name__
            )
            self._gate.on_send_failed(recipient_id, None, "export_failed")
            return
        export.path.unlink(missing_ok=True)
        envelope = recipient_for(self._resolve(recipient_id)).envelope("document")
        body = document_body(envelope, media_id, export.filename)
        await self._sender.send_all(recipient_id, [body], EXPORT_DOCUMENT)
