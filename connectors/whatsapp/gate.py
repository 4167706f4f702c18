"""What the channel asks of the compliance layer, as one interface.

The channel never stores, logs or forwards a phone number, a BSUID, a message id or a text itself:
it hands them to the gate, which pseudonymizes, hashes, seals, audits and decides. The concrete
gate is `compliance.gate.ComplianceGate`; tests may pass any object with these methods.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.engine import Connection

from connectors.whatsapp.sender_identity import SubjectIdentifier
from connectors.whatsapp.webhook_models import PreferenceUpdate, StatusUpdate

# The name the gate and the audit log know the user's data export by: it is sent as a document,
# not as a response, and asked for like one (a rights answer, allowed before consent).
EXPORT_DOCUMENT = "data_export_document"


@dataclass(frozen=True)
class SendDecision:
    """Whether a reply may go out: allowed, refused (with a reason code), or sent as a template."""

    allowed: bool
    reason: str = ""
    template: dict[str, Any] | None = None  # {"name", "language"} when a template must replace it


@dataclass(frozen=True)
class InboundFacts:
    """What the audit log keeps of a received message: never its content or its id."""

    subject: str
    message_type: str
    id_hash: str  # keyed hash of Meta's message id
    content_hash: str  # keyed hash of the text Rasa gets

    @classmethod
    def of(
        cls, subject: str, payload: Mapping[str, Any], keyed_hash: Callable[[str, str], str]
    ) -> InboundFacts:
        """From an inbox payload (webhook_receiver writes its keys)."""
        content_hash = keyed_hash("content", payload["text"])
        return cls(subject, str(payload["type"]), payload["id_hash"], content_hash)


class Gate(Protocol):
    def admit(self, identifier: SubjectIdentifier) -> str:
        """The pseudonym of a sender; records the identity (and any alias) in the vault."""

    def relink(self, old: SubjectIdentifier, new: SubjectIdentifier) -> str:
        """`user_changed_number`: the person keeps their conversation under the new number."""

    def pseudonym_of(self, identifier: SubjectIdentifier) -> str:
        """The pseudonym of an identifier, without recording anything."""

    def keyed_hash(self, purpose: str, value: str) -> str:
        """A keyed hash: for message ids and status keys, which embed the phone number."""

    def seal(self, subject: str, field: str, data: bytes) -> bytes: ...

    def open(self, subject: str, field: str, token: bytes) -> bytes: ...

    def recipient(self, subject: str) -> SubjectIdentifier:
        """Who to send to, resolved through the vault."""

    def on_inbound(self, claim: Callable[[Connection], InboundFacts | None]) -> bool:
        """A message's turn starts: `claim` takes its inbox lease in the audit's transaction
        and returns what the audit keeps of it, or None (done, or another worker holds it).
        Claimed: the inbound entry and the sender's 24-hour window refresh commit with the
        lease, in one commit, and the answer is True. That commit need not wait for the disk:
        a start lost to a power failure is made again from the durable inbox row."""

    def check_send(self, subject: str, message: dict[str, Any]) -> SendDecision: ...

    def on_outbound(
        self, subject: str, kind: str, id_hash: str, utter_action: str | None
    ) -> None: ...

    def on_send_refused(self, subject: str, reason: str, utter_action: str | None) -> None: ...

    def on_send_failed(self, subject: str, code: int | None, error: str) -> None: ...

    def on_status(
        self,
        subject: str | None,
        status: StatusUpdate,
        id_hash: str,
        first_sighting: Callable[[Connection], bool],
    ) -> None:
        """A delivery status: `first_sighting` runs in the audit's transaction and says whether
        it is new; if so, audit it and act on 131047 / 131050 failures."""

    def on_preference(self, subject: str | None, preference: PreferenceUpdate) -> None:
        """Meta's user_preferences: a marketing stop withdraws marketing consent."""

    def housekeeping_interval_seconds(self) -> float:
        """How often the channel calls `housekeeping` (bot/compliance.yml)."""

    def housekeeping(self) -> int:
        """Periodic upkeep, safe to run on several instances at once (idempotent): expire first
        opt-ins never confirmed in time. Returns the number of changes; raises on a database
        error (the channel logs it and tries again at the next interval)."""
