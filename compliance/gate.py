"""ComplianceGate: the WhatsApp channel's one door into the compliance layer.

It implements connectors.whatsapp.gate.Gate: pseudonyms and the identity vault for senders,
keyed hashes for message ids, sealing under the subject's key for the inbox, the audit entry of
every inbound message, outbound message, refusal and status, and the send guard's decision
before every reply (design.md invariants 1-4).

Message kinds come from the response name Rasa attaches to each bot message (`utter_action`):
the consent flow's responses may go before consent, the opt-out confirmation only once after
STOP, everything else is a business message. A response declares a marketing purpose with
`metadata: {purpose: marketing}`; the default purpose is `service`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any

from sqlalchemy.engine import Connection, Engine

from compliance.audit import NewEntry
from compliance.consent.model import MARKETING, SERVICE, Method
from compliance.consent.send_guard import (
    Allow,
    MessageKind,
    Refuse,
    RefuseReason,
    UseTemplate,
    may_send,
)
from compliance.consent.window_template import window_template
from compliance.context import ComplianceContext, shared_context
from compliance.errors import SubjectErased
from compliance.policy.decision import COMPLIANCE_RESPONSES
from connectors.whatsapp.calling_codes import calling_code
from connectors.whatsapp.gate import EXPORT_DOCUMENT, InboundFacts, SendDecision
from connectors.whatsapp.sender_identity import IdentifierKind, SubjectIdentifier
from connectors.whatsapp.webhook_models import PreferenceUpdate, PreferenceValue, StatusUpdate

OPT_OUT_CONFIRMATIONS = frozenset({"utter_opt_out_confirmed"})
# The consent flow and the rights answers: they may go before consent (design.md invariant 4).
# The data export the user asked for goes out as a document (EXPORT_DOCUMENT), not a response.
CONSENT_FLOW_RESPONSES = (
    frozenset(COMPLIANCE_RESPONSES) | {EXPORT_DOCUMENT}
) - OPT_OUT_CONFIRMATIONS
# The answer to the user's own erasure request, in the turn they wrote: it goes even though the
# erasure just withdrew everything (and shredded the identity the channel resolved beforehand).
LAST_WORDS = frozenset({"utter_data_deleted"})
# Meta's failure codes that change what may be sent next (whatsapp-cloud-api.md §6).
OUTSIDE_WINDOW = 131047
STOPPED_MARKETING = 131050


def message_kind(utter_action: str | None) -> MessageKind:
    if utter_action in OPT_OUT_CONFIRMATIONS:
        return MessageKind.OPT_OUT_CONFIRMATION
    if utter_action in CONSENT_FLOW_RESPONSES:
        return MessageKind.CONSENT_FLOW
    return MessageKind.BUSINESS


def message_purpose(message: Mapping[str, Any]) -> str:
    metadata = message.get("metadata") or {}
    purpose = message.get("purpose") or (
        metadata.get("purpose") if isinstance(metadata, dict) else None
    )
    return MARKETING if purpose == MARKETING else SERVICE


class ComplianceGate:
    def __init__(self, context: ComplianceContext) -> None:
        self.context = context

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> ComplianceGate:
        """The gate over this process's shared compliance core (compliance.context): the same
        engine and audit writer as ConsentPolicy and the tracker store; entries say "channel"."""
        return cls(shared_context(os.environ if environ is None else environ, "channel"))

    @property
    def engine(self) -> Engine:
        return self.context.engine

    # --- identities and sealing -------------------------------------------------------------

    def admit(self, identifier: SubjectIdentifier) -> str:
        vault = self.context.vault
        if identifier.alias is None:
            return vault.admit(identifier.kind.value, identifier.value)
        own = vault.register(identifier.kind.value, identifier.value)
        vault.link(own, vault.register(identifier.alias.kind.value, identifier.alias.value))
        return vault.canonical(own)

    def relink(self, old: SubjectIdentifier, new: SubjectIdentifier) -> str:
        vault = self.context.vault
        old_pseudonym = vault.register(old.kind.value, old.value)
        vault.relink_number_change(old_pseudonym, new.value)
        self.context.record(
            "consent_change", vault.canonical(old_pseudonym), source="user_changed_number"
        )
        return vault.canonical(old_pseudonym)

    def pseudonym_of(self, identifier: SubjectIdentifier) -> str:
        own = self.context.vault.pseudonym_of(identifier.kind.value, identifier.value)
        try:
            return self.context.vault.canonical(own)
        except Exception:  # never registered: a status about someone we never heard from
            return own

    def keyed_hash(self, purpose: str, value: str) -> str:
        return self.context.keyed_hash(purpose, value)

    def seal(self, subject: str, field: str, data: bytes) -> bytes:
        return self.context.keys.seal_for(subject, field, data)

    def open(self, subject: str, field: str, token: bytes) -> bytes:
        return self.context.keys.open_for(subject, field, token)

    def recipient(self, subject: str) -> SubjectIdentifier:
        kind, value = self.context.vault.resolve(subject)
        return SubjectIdentifier(IdentifierKind(kind), value)

    # --- the turn ----------------------------------------------------------------------------

    def on_inbound(self, claim: Callable[[Connection], InboundFacts | None]) -> bool:
        now = _now()

        def change(conn: Connection) -> list[NewEntry]:
            facts = claim(conn)
            if facts is None:
                return []
            self.context.ledger.record_inbound_on(conn, facts.subject, now)
            return [
                self.context.entry(
                    "inbound_message",
                    facts.subject,
                    message_type=facts.message_type,
                    message_id_hash=facts.id_hash,
                    content_hash=facts.content_hash,
                )
            ]

        # The lease, the window refresh and the entry: one transaction. Its commit need not
        # wait for the disk: the message's inbox row is durable, and a start lost to a power
        # failure is started again from it (compliance/storage/durability.py).
        return bool(self.context.audit.append_derived(change, durable=False))

    def check_send(self, subject: str, message: dict[str, Any]) -> SendDecision:
        if message.get("utter_action") in LAST_WORDS:
            return SendDecision(True)
        try:
            context = self.context.ledger.send_context(subject, _now())
        except SubjectErased:
            return SendDecision(False, "erased")
        settings = self.context.settings
        templates = settings.window_template or {}
        decision = may_send(
            context.state_by_purpose,
            message_purpose(message),
            message_kind(message.get("utter_action")),
            context.opted_out,
            context.opt_out_confirmation_sent,
            context.window_open,
            template_available=bool(templates),
            outdated_purposes=context.outdated_purposes,
        )
        if isinstance(decision, Allow):
            return SendDecision(True)
        if isinstance(decision, UseTemplate):
            template = window_template(settings, message, self._calling_code(subject))
            assert template is not None  # template_available was true
            name = decision.name or template.name
            # The free-form message never goes: audited as refused and replaced, and the template
            # then as an outbound message when Meta accepts it.
            self.context.record(
                "send_refused",
                subject,
                reason=RefuseReason.OUTSIDE_WINDOW.value,
                response=message.get("utter_action"),
                replaced_by="template",
                template=name,
                template_language=template.language,
            )
            return SendDecision(True, "template", {"name": name, "language": template.language})
        assert isinstance(decision, Refuse)
        return SendDecision(False, decision.reason.value)

    def _calling_code(self, subject: str) -> str | None:
        """The calling code of the subject's phone, for the language; None without a phone."""
        try:
            identifier = self.recipient(subject)
        except (LookupError, SubjectErased):
            return None
        if identifier.kind is not IdentifierKind.PHONE:
            return None
        return calling_code("+" + identifier.value.lstrip("+"))

    def on_outbound(self, subject: str, kind: str, id_hash: str, utter_action: str | None) -> None:
        if utter_action in OPT_OUT_CONFIRMATIONS:
            self.context.ledger.mark_opt_out_confirmation_sent(subject, _now())
        self.context.record(
            "outbound_message",
            subject,
            message_type=kind,
            message_id_hash=id_hash,
            response=utter_action,
        )

    def on_send_refused(self, subject: str, reason: str, utter_action: str | None) -> None:
        self.context.record("send_refused", subject, reason=reason, response=utter_action)

    def on_send_failed(self, subject: str, code: int | None, error: str) -> None:
        self._apply_failure(subject, code)
        self.context.record(
            "delivery_status", subject, status="send_failed", error_code=code, error=error
        )

    def on_status(
        self,
        subject: str | None,
        status: StatusUpdate,
        id_hash: str,
        first_sighting: Callable[[Connection], bool],
    ) -> None:
        # The dedup mark and the audit entry commit together: a crash between them would
        # otherwise leave a status marked seen and never audited (its redelivery is deduped).
        if not self.context.record_with(
            first_sighting,
            "delivery_status",
            subject,
            status=status.status.value,
            message_id_hash=id_hash,
            error_code=status.error_codes[0] if status.error_codes else None,
        ):
            return
        if subject is not None:
            for code in status.error_codes:
                self._apply_failure(subject, code)

    def on_preference(self, subject: str | None, preference: PreferenceUpdate) -> None:
        if subject is None:
            return
        if preference.value == PreferenceValue.STOP:
            self.context.ledger.withdraw(
                subject, [MARKETING], method=Method.META_USER_PREFERENCES.value
            )
        self.context.record(
            "consent_change", subject, source="user_preferences", value=preference.value.value
        )

    # --- upkeep --------------------------------------------------------------------------------

    def housekeeping_interval_seconds(self) -> float:
        return self.context.settings.sweep_interval.total_seconds()

    def housekeeping(self) -> int:
        # The same sweep as `python -m compliance consent expire`: receipts and audit entries
        # come from the ledger, once per record however many instances sweep together.
        return len(self.context.ledger.expire_pending(_now()))

    def _apply_failure(self, subject: str, code: int | None) -> None:
        if code == OUTSIDE_WINDOW:
            self.context.ledger.record_window_closed(subject)
        elif code == STOPPED_MARKETING:
            self.context.ledger.withdraw(subject, [MARKETING], method=Method.DELIVERY_FAILURE.value)


def _now() -> datetime:
    return datetime.now(timezone.utc)
