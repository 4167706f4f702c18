"""Consent: the pure state machine, keyword matching, window arithmetic, send guard, and ledger.

What other packages may use (the channel, the action server, the CLI, the policy):
- keywords: `classify(text, keyword_sets) -> KeywordMatch`, `normalize(text)`
- answers: `consent_answer(intent, text, keyword_sets) -> Answer` (what counts as yes)
- send guard: `may_send(...) -> Allow | Refuse | UseTemplate`
- ledger: `ConsentLedger(engine, hash_key, audit_hook)`
- settings: `load_settings(path) -> ComplianceSettings`
"""

from __future__ import annotations

from compliance.consent.answers import AFFIRM_PAYLOAD, Answer, consent_answer
from compliance.consent.keywords import KeywordMatch, KeywordSets, classify, normalize
from compliance.consent.ledger import ConsentLedger
from compliance.consent.ledger_subject import SendContext
from compliance.consent.model import (
    MARKETING,
    SERVICE,
    ConsentEvent,
    ConsentReceipt,
    ConsentRecord,
    ConsentState,
    EventType,
    Method,
)
from compliance.consent.send_guard import (
    Allow,
    MessageKind,
    Refuse,
    RefuseReason,
    UseTemplate,
    may_send,
)
from compliance.consent.settings import ComplianceSettings, TemplateRef, load_settings
from compliance.consent.transitions import apply, events_to_ask, is_opted_out
from compliance.consent.window import is_window_open, window_closes_at

__all__ = [
    "AFFIRM_PAYLOAD",
    "MARKETING",
    "SERVICE",
    "Allow",
    "Answer",
    "ComplianceSettings",
    "ConsentEvent",
    "ConsentLedger",
    "ConsentReceipt",
    "ConsentRecord",
    "ConsentState",
    "EventType",
    "KeywordMatch",
    "KeywordSets",
    "MessageKind",
    "Method",
    "Refuse",
    "RefuseReason",
    "SendContext",
    "TemplateRef",
    "UseTemplate",
    "apply",
    "classify",
    "consent_answer",
    "events_to_ask",
    "is_opted_out",
    "is_window_open",
    "load_settings",
    "may_send",
    "normalize",
    "window_closes_at",
]
