"""The consent state machine: a table of legal and illegal moves, and hypothesis properties."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compliance.consent.model import ConsentEvent, ConsentRecord, ConsentState, EventType, Method
from compliance.consent.transitions import TRANSITIONS, allowed, apply, events_to_ask
from compliance.errors import ConsentError

S, E = ConsentState, EventType
T0 = datetime(2025, 1, 1, tzinfo=timezone.utc)
EXPIRY = timedelta(hours=72)


def rec(state: ConsentState, version: str | None = "v1", pending: datetime | None = None):
    return ConsentRecord("wa_x", "service", state, version, T0, pending)


def ev(kind: EventType, at: datetime = T0, version: str | None = "v1") -> ConsentEvent:
    return ConsentEvent(kind, at, Method.CHAT, version, "h" * 64)


LEGAL = [
    ("first contact", S.NONE, E.NOTICE_SHOWN, S.NOTICE_SHOWN),
    ("ask", S.NOTICE_SHOWN, E.CONSENT_ASKED, S.ASKED),
    ("first step", S.ASKED, E.CONSENT_GIVEN, S.AWAITING_CONFIRMATION),
    ("second step", S.AWAITING_CONFIRMATION, E.CONFIRMED, S.CONFIRMED),
    ("refuse at question", S.ASKED, E.REFUSED, S.REFUSED),
    ("refuse at confirmation", S.AWAITING_CONFIRMATION, E.REFUSED, S.REFUSED),
    ("stop when confirmed", S.CONFIRMED, E.WITHDRAWN, S.WITHDRAWN),
    ("stop before anything", S.NONE, E.WITHDRAWN, S.WITHDRAWN),
    ("start after stop", S.WITHDRAWN, E.OPT_IN_RESTART, S.ASKED),
    ("start after refusal", S.REFUSED, E.OPT_IN_RESTART, S.ASKED),
    ("web form first opt-in", S.NONE, E.EXTERNAL_FIRST_OPTIN, S.AWAITING_CONFIRMATION),
    ("web form after stop", S.WITHDRAWN, E.EXTERNAL_FIRST_OPTIN, S.AWAITING_CONFIRMATION),
    ("notice changed", S.CONFIRMED, E.NOTICE_VERSION_CHANGED, S.ASKED),
    ("erase confirmed", S.CONFIRMED, E.ERASED, S.ERASED),
    ("erased starts over", S.ERASED, E.NOTICE_SHOWN, S.NOTICE_SHOWN),
    ("stop after erasure", S.ERASED, E.WITHDRAWN, S.WITHDRAWN),
    ("expired starts over", S.EXPIRED, E.NOTICE_SHOWN, S.NOTICE_SHOWN),
]

ILLEGAL = [
    ("confirm without first step", S.ASKED, E.CONFIRMED),
    ("confirm from nothing", S.NONE, E.CONFIRMED),
    ("confirm after stop", S.WITHDRAWN, E.CONFIRMED),
    ("confirm after expiry", S.EXPIRED, E.CONFIRMED),
    ("give consent without question", S.NONE, E.CONSENT_GIVEN),
    ("give consent after stop", S.WITHDRAWN, E.CONSENT_GIVEN),
    ("stop twice", S.WITHDRAWN, E.WITHDRAWN),
    ("restart when confirmed", S.CONFIRMED, E.OPT_IN_RESTART),
    ("web form when confirmed", S.CONFIRMED, E.EXTERNAL_FIRST_OPTIN),
    ("erase twice", S.ERASED, E.ERASED),
    ("refuse when confirmed", S.CONFIRMED, E.REFUSED),
    ("notice change before consent", S.ASKED, E.NOTICE_VERSION_CHANGED),
    ("expire when confirmed", S.CONFIRMED, E.EXPIRE),
]


@pytest.mark.parametrize(
    ("start", "event", "end"), [c[1:] for c in LEGAL], ids=[c[0] for c in LEGAL]
)
def test_legal_moves_return_a_receipt(start: S, event: E, end: S) -> None:
    version = "v2" if event is E.NOTICE_VERSION_CHANGED else "v1"
    new, receipt = apply(rec(start), ev(event, version=version))
    assert new.state is end
    assert (receipt.from_state, receipt.to_state, receipt.event) == (start, end, event)
    assert receipt.subject == "wa_x" and receipt.purpose == "service"
    assert receipt.evidence_hash == "h" * 64 and receipt.method is Method.CHAT
    assert receipt.notice_version == version and receipt.time == T0


@pytest.mark.parametrize(("start", "event"), [c[1:] for c in ILLEGAL], ids=[c[0] for c in ILLEGAL])
def test_illegal_moves_raise(start: S, event: E) -> None:
    with pytest.raises(ConsentError):
        apply(rec(start, pending=T0), ev(event), pending_expiry=EXPIRY)


def test_erasure_forgets_the_notice_and_a_stop_after_it_silences() -> None:
    """After "delete my data" the record holds no notice version (the subject starts over);
    a STOP still withdraws, with a receipt; START then restarts the double opt-in."""
    erased, receipt = apply(rec(S.CONFIRMED, "v1"), ev(E.ERASED, version=None))
    assert erased.notice_version is None and receipt.notice_version == "v1"
    withdrawn, receipt = apply(erased, ev(E.WITHDRAWN, version=None))
    assert withdrawn.state is S.WITHDRAWN and receipt.from_state is S.ERASED
    assert events_to_ask(withdrawn.state) == (E.OPT_IN_RESTART,)
    asked, _ = apply(withdrawn, ev(E.OPT_IN_RESTART, version="v2"))
    assert asked.state is S.ASKED and asked.notice_version == "v2"


def test_expire_only_when_due() -> None:
    waiting = rec(S.AWAITING_CONFIRMATION, pending=T0)
    with pytest.raises(ConsentError):
        apply(waiting, ev(E.EXPIRE, T0 + EXPIRY - timedelta(seconds=1)), pending_expiry=EXPIRY)
    new, _ = apply(waiting, ev(E.EXPIRE, T0 + EXPIRY), pending_expiry=EXPIRY)
    assert new.state is S.EXPIRED and new.pending_since is None


def test_late_confirmation_is_refused() -> None:
    waiting = rec(S.AWAITING_CONFIRMATION, pending=T0)
    with pytest.raises(ConsentError):
        apply(waiting, ev(E.CONFIRMED, T0 + EXPIRY), pending_expiry=EXPIRY)


def test_pending_since_is_set_by_first_step() -> None:
    new, _ = apply(rec(S.ASKED), ev(E.CONSENT_GIVEN, T0 + timedelta(hours=1)))
    assert new.pending_since == T0 + timedelta(hours=1)


def test_notice_change_needs_a_new_version() -> None:
    with pytest.raises(ConsentError):
        apply(rec(S.CONFIRMED, "v1"), ev(E.NOTICE_VERSION_CHANGED, version="v1"))


def test_notice_events_need_a_version() -> None:
    with pytest.raises(ConsentError):
        apply(rec(S.NONE), ev(E.NOTICE_SHOWN, version=None))


@pytest.mark.parametrize("state", list(S), ids=[s.value for s in S])
def test_events_to_ask_reach_asked_or_nothing(state: S) -> None:
    record = rec(state)
    for kind in events_to_ask(state):
        record, _ = apply(record, ev(kind))
    assert record.state is (S.ASKED if events_to_ask(state) else state)


EVENTS = st.sampled_from(list(E))


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(EVENTS, st.integers(0, 100), st.booleans()), max_size=40))
def test_confirmed_only_through_awaiting_confirmation_after_last_withdrawal(steps) -> None:
    """No sequence of events reaches confirmed without awaiting_confirmation since the last STOP."""
    record = ConsentRecord("wa_x", "service")
    at = T0
    awaiting_since_withdrawal = False
    for kind, hours, new_version in steps:
        at = at + timedelta(hours=hours)
        version = f"v{hours}" if new_version else "v1"
        try:
            new, receipt = apply(record, ev(kind, at, version), pending_expiry=EXPIRY)
        except ConsentError:
            assert not allowed(record.state, kind) or kind in (
                E.EXPIRE,
                E.CONFIRMED,
                E.NOTICE_VERSION_CHANGED,
            )
            continue
        assert receipt.from_state is record.state and receipt.to_state is new.state
        if new.state is S.WITHDRAWN:
            awaiting_since_withdrawal = False
        if new.state is S.AWAITING_CONFIRMATION:
            awaiting_since_withdrawal = True
        if new.state is S.CONFIRMED:
            assert record.state is S.AWAITING_CONFIRMATION
            assert awaiting_since_withdrawal
        record = new


def test_every_event_has_a_row() -> None:
    assert set(TRANSITIONS) == set(E)
