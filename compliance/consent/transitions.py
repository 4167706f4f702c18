"""The consent state machine: one table of legal moves, one function that applies an event.

Why a table: the legal moves are the compliance rules (double opt-in, opt-out at any time, expiry,
re-consent on a new notice), and a reviewer should be able to read them in one place. Every move
returns a ConsentReceipt; an illegal move raises ConsentError and changes nothing.

    none ─notice_shown→ notice_shown ─consent_asked→ asked ─consent_given→ awaiting_confirmation
    awaiting_confirmation ─confirmed→ confirmed          (the ONLY way into confirmed)
    notice_shown | asked | awaiting_confirmation ─refused→ refused
    any but withdrawn ─withdrawn→ withdrawn              (STOP: all purposes; "stop marketing": one)
    withdrawn | refused | expired ─opt_in_restart→ asked (START: a fresh double opt-in)
    any but confirmed ─external_first_optin→ awaiting_confirmation (web form; confirm by template)
    awaiting_confirmation ─expire(now)→ expired          (only once pending_since + expiry <= now)
    confirmed ─notice_version_changed→ asked             (consented to an older notice: ask again)
                                                        (every purpose confirmed under it, at once)
    any but erased ─erased→ erased;  erased ─notice_shown→ notice_shown (the pseudonym starts over)

Why erased ─withdrawn→ withdrawn: erasure deletes what we hold, not the user's right to object.
A STOP after "delete my data" must still silence the bot until START (invariant 4), and the
opt-out needs its receipt and audit entry like any other; refusing the move dropped the STOP and
the next "hi" got the privacy notice and the consent question. Erasure also forgets which notice
the subject had seen (notice_version None), so a START after it shows the notice again.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from compliance.consent.model import (
    ConsentEvent,
    ConsentReceipt,
    ConsentRecord,
    ConsentState,
    EventType,
)
from compliance.errors import ConsentError

S = ConsentState
_ALL = frozenset(S)

# event -> (states it may start from, state it leads to)
TRANSITIONS: dict[EventType, tuple[frozenset[ConsentState], ConsentState]] = {
    EventType.NOTICE_SHOWN: (
        frozenset({S.NONE, S.NOTICE_SHOWN, S.EXPIRED, S.ERASED}),
        S.NOTICE_SHOWN,
    ),
    EventType.CONSENT_ASKED: (frozenset({S.NOTICE_SHOWN, S.ASKED}), S.ASKED),
    EventType.CONSENT_GIVEN: (frozenset({S.ASKED}), S.AWAITING_CONFIRMATION),
    EventType.CONFIRMED: (frozenset({S.AWAITING_CONFIRMATION}), S.CONFIRMED),
    EventType.REFUSED: (frozenset({S.NOTICE_SHOWN, S.ASKED, S.AWAITING_CONFIRMATION}), S.REFUSED),
    EventType.WITHDRAWN: (_ALL - {S.WITHDRAWN}, S.WITHDRAWN),
    EventType.OPT_IN_RESTART: (frozenset({S.WITHDRAWN, S.REFUSED, S.EXPIRED}), S.ASKED),
    EventType.EXTERNAL_FIRST_OPTIN: (_ALL - {S.CONFIRMED}, S.AWAITING_CONFIRMATION),
    EventType.EXPIRE: (frozenset({S.AWAITING_CONFIRMATION}), S.EXPIRED),
    EventType.NOTICE_VERSION_CHANGED: (frozenset({S.CONFIRMED}), S.ASKED),
    EventType.ERASED: (_ALL - {S.ERASED}, S.ERASED),
}

# Events that present the notice (or rely on it having been presented) must say which version.
_NEEDS_NOTICE_VERSION = frozenset(
    {
        EventType.NOTICE_SHOWN,
        EventType.CONSENT_ASKED,
        EventType.OPT_IN_RESTART,
        EventType.EXTERNAL_FIRST_OPTIN,
        EventType.NOTICE_VERSION_CHANGED,
    }
)


def allowed(state: ConsentState, event: EventType) -> bool:
    """True if `event` is a legal move from `state`."""
    sources, _ = TRANSITIONS[event]
    return state in sources


def apply(
    record: ConsentRecord, event: ConsentEvent, *, pending_expiry: timedelta | None = None
) -> tuple[ConsentRecord, ConsentReceipt]:
    """Apply `event` to `record`; return the new record and the receipt of the move.

    pending_expiry is how long a first opt-in waits for its confirmation; it is required for
    `expire` and, when given, a late `confirmed` is refused (the sweep may not have run yet).
    Raises ConsentError for an illegal move; the message names states and events, never the subject.
    """
    sources, target = TRANSITIONS[event.type]
    if record.state not in sources:
        raise ConsentError(
            f"consent event '{event.type.value}' is not allowed in state "
            f"'{record.state.value}' (purpose '{record.purpose}')"
        )
    if event.type in _NEEDS_NOTICE_VERSION and not event.notice_version:
        raise ConsentError(f"consent event '{event.type.value}' needs notice_version")
    _check_timing(record, event, pending_expiry)
    if event.type is EventType.NOTICE_VERSION_CHANGED and event.notice_version == (
        record.notice_version
    ):
        raise ConsentError("notice_version_changed: the subject already accepted this version")

    notice_version = event.notice_version or record.notice_version
    pending_since = event.at if target is S.AWAITING_CONFIRMATION else None
    new_record = replace(
        record,
        state=target,
        # Erasure: the pseudonym starts over, so its record says it has seen no notice; the
        # receipt keeps the version the erased consent was given under, as a withdrawal does.
        notice_version=None if target is S.ERASED else notice_version,
        updated_at=event.at,
        pending_since=pending_since,
    )
    receipt = ConsentReceipt(
        subject=record.subject,
        purpose=record.purpose,
        from_state=record.state,
        to_state=target,
        notice_version=notice_version,
        method=event.method,
        time=event.at,
        evidence_hash=event.evidence_hash,
        event=event.type,
    )
    return new_record, receipt


def _check_timing(
    record: ConsentRecord, event: ConsentEvent, pending_expiry: timedelta | None
) -> None:
    if event.type is EventType.EXPIRE:
        if pending_expiry is None:
            raise ConsentError("expire needs pending_expiry")
        if not is_due_for_expiry(record, event.at, pending_expiry):
            raise ConsentError("expire: the pending confirmation is not yet due")
    if event.type is EventType.CONFIRMED and pending_expiry is not None:
        if is_due_for_expiry(record, event.at, pending_expiry):
            raise ConsentError("confirmed: the pending confirmation has expired")


def is_due_for_expiry(record: ConsentRecord, now: datetime, pending_expiry: timedelta) -> bool:
    """True if the record awaits confirmation since `pending_expiry` or longer."""
    if record.state is not S.AWAITING_CONFIRMATION or record.pending_since is None:
        return False
    return record.pending_since + pending_expiry <= now


def is_outdated(
    state: ConsentState, accepted_version: str | None, current_version: str | None
) -> bool:
    """True if consent was confirmed under another privacy notice than the current one.

    Such consent is no consent for the current notice, whatever the purpose (GDPR art. 7(1):
    the controller must show the consent covers the processing as now described), so the send
    guard refuses on it and the consent flow asks again. current_version None: not configured.
    """
    return (
        state is S.CONFIRMED and current_version is not None and accepted_version != current_version
    )


def outdated_purposes(
    records: dict[str, ConsentRecord], current_version: str | None
) -> tuple[str, ...]:
    """The purposes confirmed under an older privacy notice, in the records' order."""
    return tuple(
        p for p, r in records.items() if is_outdated(r.state, r.notice_version, current_version)
    )


def events_to_ask(state: ConsentState) -> tuple[EventType, ...]:
    """The events that bring `state` to `asked` in the chat flow (empty if nothing to do).

    The consent action uses it so that it does not need to know the table: a new or expired
    subject sees the notice then the question; an opted-out or refused one restarts.
    """
    if state in (S.NONE, S.EXPIRED, S.ERASED):
        return (EventType.NOTICE_SHOWN, EventType.CONSENT_ASKED)
    if state is S.NOTICE_SHOWN:
        return (EventType.CONSENT_ASKED,)
    if state in (S.WITHDRAWN, S.REFUSED):
        return (EventType.OPT_IN_RESTART,)
    return ()


def is_opted_out(states: dict[str, ConsentState], service_purpose: str = "service") -> bool:
    """Opted out = the service purpose is withdrawn (STOP withdraws every purpose)."""
    return states.get(service_purpose, S.NONE) is S.WITHDRAWN
