"""The consent vocabulary: states, events, methods, and the frozen records the state machine uses.

Consent is tracked per (subject pseudonym, purpose). Nothing here holds a phone number or a message
text: the subject is a pseudonym and the evidence is a keyed hash computed by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum


class ConsentState(str, Enum):
    """Where one subject stands for one purpose."""

    NONE = "none"  # never contacted about this purpose
    NOTICE_SHOWN = "notice_shown"
    ASKED = "asked"  # the consent question was sent
    AWAITING_CONFIRMATION = "awaiting_confirmation"  # first step done; the double opt-in is pending
    CONFIRMED = "confirmed"  # the only state that is a legal basis for business messages
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"  # opt-out (STOP, "stop marketing", Meta user_preferences stop)
    EXPIRED = "expired"  # the confirmation was not given in time
    ERASED = "erased"  # right to erasure exercised; the pseudonym may start over later


class EventType(str, Enum):
    """What happened; each event is one legal move of the state machine (see transitions.py)."""

    NOTICE_SHOWN = "notice_shown"
    CONSENT_ASKED = "consent_asked"
    CONSENT_GIVEN = "consent_given"  # first step of the double opt-in
    CONFIRMED = "confirmed"  # second step
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"
    OPT_IN_RESTART = "opt_in_restart"  # START after an opt-out: back to asked, fresh double opt-in
    EXTERNAL_FIRST_OPTIN = "external_first_optin"  # web-form checkbox; template confirms
    EXPIRE = "expire"
    NOTICE_VERSION_CHANGED = "notice_version_changed"
    ERASED = "erased"


class Method(str, Enum):
    """How the change was made; stored on the receipt as evidence of the channel used."""

    CHAT = "chat"
    WEB_FORM = "web_form"
    CLI = "cli"
    META_USER_PREFERENCES = "meta_user_preferences"
    DELIVERY_FAILURE = "delivery_failure"  # e.g. Meta error 131050, the user stopped marketing
    SYSTEM = "system"  # expiry sweeps and notice-version changes
    RIGHTS_REQUEST = "rights_request"  # erasure


SERVICE = "service"
MARKETING = "marketing"


@dataclass(frozen=True, slots=True)
class ConsentRecord:
    """Current state of one (subject, purpose); pending_since is set while awaiting confirmation."""

    subject: str
    purpose: str
    state: ConsentState = ConsentState.NONE
    notice_version: str | None = None
    updated_at: datetime | None = None
    pending_since: datetime | None = None


@dataclass(frozen=True, slots=True)
class ConsentEvent:
    """One input to the state machine.

    evidence_hash is the keyed hash of the message id (or form submission id) that proves the
    event; the caller computes it so that this module never sees the id itself.
    """

    type: EventType
    at: datetime
    method: Method = Method.CHAT
    notice_version: str | None = None
    evidence_hash: str | None = None


@dataclass(frozen=True, slots=True)
class ConsentReceipt:
    """The durable proof of one transition, stored in the ledger and referenced by the audit log."""

    subject: str
    purpose: str
    from_state: ConsentState
    to_state: ConsentState
    notice_version: str | None
    method: Method
    time: datetime
    evidence_hash: str | None
    event: EventType

    def as_audit_dict(self) -> dict[str, str | None]:
        """The receipt as a flat dict for the audit log: pseudonym and keyed hash only."""
        return {
            "type": "consent_change",
            "subject": self.subject,
            "purpose": self.purpose,
            "event": self.event.value,
            "from_state": self.from_state.value,
            "to_state": self.to_state.value,
            "notice_version": self.notice_version,
            "method": self.method.value,
            "time": self.time.isoformat(),
            "evidence_hash": self.evidence_hash,
        }
