"""Set-up for tests and benchmarks: subjects whose double opt-in is already complete.

Records the same ledger events the consent actions record when a user taps through the notice,
the question and the confirmation, so that a test or a benchmark can start at the business part
of a conversation. Never used by the bot itself.
"""

from __future__ import annotations

from collections.abc import Iterable

from compliance.consent.model import EventType
from compliance.context import ComplianceContext

CONFIRMING_EVENTS = (
    EventType.NOTICE_SHOWN,
    EventType.CONSENT_ASKED,
    EventType.CONSENT_GIVEN,
    EventType.CONFIRMED,
)


def grant_consent(
    context: ComplianceContext, subjects: Iterable[str], purpose: str = "service"
) -> None:
    """A confirmed double opt-in for each subject, under the current privacy notice."""
    for subject in subjects:
        for event in CONFIRMING_EVENTS:
            context.ledger.apply(
                subject,
                purpose,
                event,
                notice_version=context.settings.notice_version,
                evidence_id=f"setup-{event.value}",
            )
