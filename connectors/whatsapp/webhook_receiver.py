"""The POST pipeline of the webhook, apart from Sanic: size cap, signature, JSON, parse, record.

Order matters and is the security boundary: nothing is parsed before the signature over the raw
bytes has been checked, and nothing but the fact of a rejection is logged. The answer is 200 only
once every message of the body is durably in the inbox (then Meta may forget it); a database
outage answers 503 so that Meta redelivers, and the inbox's unique keys make the redelivery safe.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from functools import partial

from sqlalchemy.exc import DBAPIError

from compliance.errors import StorageUnavailable
from connectors.whatsapp.config import WhatsAppConfig
from connectors.whatsapp.gate import Gate
from connectors.whatsapp.inbound_mapping import may_pick_numbered_choice, to_rasa_input
from connectors.whatsapp.inbox import Inbox, NewInbound, Recorded
from connectors.whatsapp.sender_identity import (
    UnidentifiableSender,
    number_change,
    phone_identifier,
    subject_identifier,
)
from connectors.whatsapp.signature import verify_signature
from connectors.whatsapp.webhook_models import InboundMessage, ParsedWebhook, StatusUpdate
from connectors.whatsapp.webhook_parser import WebhookFormatError, parse_webhook

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    status: int
    reason: str = "ok"
    accepted: list[Recorded] = field(default_factory=list)

    def http_answer(self) -> tuple[int, dict[str, object]]:
        """Status and JSON body for Meta: the same from the Rasa server's route and the front."""
        if self.status != 200:
            return self.status, {"error": self.reason}
        return 200, {"status": "ok", "accepted": len(self.accepted)}


class WebhookReceiver:
    def __init__(self, config: WhatsAppConfig, gate: Gate, inbox: Inbox) -> None:
        self._config = config
        self._gate = gate
        self._inbox = inbox

    @property
    def max_body_bytes(self) -> int:
        return self._config.max_body_bytes

    def too_large(self) -> Outcome:
        return Outcome(413, f"body larger than {self._config.max_body_bytes} bytes")

    def receive(self, raw: bytes, signature_header: str | None) -> Outcome:
        if len(raw) > self._config.max_body_bytes:
            return self.too_large()
        signature = verify_signature(self._config.app_secret, raw, signature_header)
        if not signature.ok:
            logger.warning("whatsapp.webhook.rejected status=%d", signature.http_status)
            return Outcome(signature.http_status, signature.reason)
        try:
            body = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError):
            return Outcome(400, "body is not valid JSON")
        if not isinstance(body, dict):
            return Outcome(400, "body is not a JSON object")
        try:
            parsed = parse_webhook(body)
        except WebhookFormatError as exc:
            return Outcome(400, exc.reason)
        try:
            accepted = self._record(parsed)
        except (StorageUnavailable, DBAPIError):
            # Nothing was acknowledged: Meta redelivers, and the inbox's unique keys make the
            # redelivery of what did get recorded a no-op.
            logger.error("whatsapp.webhook.storage_unavailable")
            return Outcome(503, "storage unavailable, retry later")
        return Outcome(200, "ok", accepted)

    def _record(self, parsed: ParsedWebhook) -> list[Recorded]:
        new = [item for msg in parsed.messages if (item := self._inbound(msg)) is not None]
        recorded = [r for r in self._inbox.record(new) if not r.duplicate] if new else []
        for status in parsed.statuses:
            self._status(status)
        for preference in parsed.preferences:
            self._gate.on_preference(self._subject_of_phone(preference.phone), preference)
        if len(new) != len(recorded):
            logger.info("whatsapp.webhook.duplicates count=%d", len(new) - len(recorded))
        return recorded

    def _inbound(self, msg: InboundMessage) -> NewInbound | None:
        if msg.phone_number_id and msg.phone_number_id != self._config.phone_number_id:
            # Meta sends every number of the WABA to one callback; this channel serves one.
            logger.info("whatsapp.webhook.other_number_ignored")
            return None
        try:
            identifier = subject_identifier(msg.sender)
        except UnidentifiableSender:
            logger.warning("whatsapp.webhook.unidentifiable_sender type=%s", msg.type.value)
            return None
        change = number_change(msg)
        subject = (
            self._gate.relink(change.old, change.new)
            if change is not None
            else self._gate.admit(identifier)
        )
        choices = self._inbox.load_choices(subject) if may_pick_numbered_choice(msg) else None
        rasa_input = to_rasa_input(msg, choices)
        id_hash = self._gate.keyed_hash("message_id", msg.message_id)
        payload = {
            "text": rasa_input.text,
            "metadata": rasa_input.metadata,
            "message_id": msg.message_id,
            "id_hash": id_hash,
            "type": str(rasa_input.metadata.get("message_type", msg.type.value)),
        }
        return NewInbound(id_hash=id_hash, subject=subject, payload=payload)

    def _status(self, status: StatusUpdate) -> None:
        key = self._gate.keyed_hash("status", f"{status.message_id}|{status.status.value}")
        subject = self._subject_of_phone(status.recipient_phone)
        self._gate.on_status(
            subject,
            status,
            self._gate.keyed_hash("message_id", status.message_id),
            partial(self._inbox.first_status_sighting_on, key_hash=key),
        )

    def _subject_of_phone(self, phone: str | None) -> str | None:
        """The pseudonym a status or preference is about; None when Meta left the phone out."""
        if not phone:
            return None
        try:
            return self._gate.pseudonym_of(phone_identifier(phone))
        except UnidentifiableSender:
            return None
