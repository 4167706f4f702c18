"""The ledger against a migrated SQLite database (PostgreSQL with SIGILLO_TEST_POSTGRES_URL)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from compliance.consent.ledger import ConsentLedger
from compliance.consent.model import ConsentState as S
from compliance.consent.model import EventType as E
from compliance.consent.model import Method
from compliance.consent.tables import consent_receipts, consent_state
from compliance.errors import ConfigError, ConsentError

T0 = datetime(2025, 1, 1, 12, tzinfo=timezone.utc)
KEY = b"k" * 32
SUBJECT = "wa_test_subject"


@pytest.fixture
def audit() -> list[dict]:
    return []


@pytest.fixture
def ledger(engine, audit: list[dict]) -> ConsentLedger:
    return ConsentLedger(engine, KEY, audit.append, notice_version="v1")


def chat_double_optin(ledger: ConsentLedger, subject: str = SUBJECT) -> None:
    ledger.apply(subject, "service", E.NOTICE_SHOWN, at=T0, notice_version="v1")
    ledger.apply(subject, "service", E.CONSENT_ASKED, at=T0, notice_version="v1")
    ledger.apply(subject, "service", E.CONSENT_GIVEN, at=T0, evidence_id="wamid.1")
    ledger.apply(
        subject, "service", E.CONFIRMED, at=T0 + timedelta(minutes=1), evidence_id="wamid.2"
    )


def test_double_optin_writes_state_receipts_and_audit(ledger, audit) -> None:
    chat_double_optin(ledger)
    assert ledger.state(SUBJECT) == {"service": S.CONFIRMED, "marketing": S.NONE}
    history = ledger.history(SUBJECT)
    assert [r.to_state for r in history] == [
        S.NOTICE_SHOWN,
        S.ASKED,
        S.AWAITING_CONFIRMATION,
        S.CONFIRMED,
    ]
    assert history[-1].time == T0 + timedelta(minutes=1)
    assert history[-1].evidence_hash == ledger.evidence_hash("wamid.2")
    assert "wamid.2" not in str(audit) and len(audit) == 4
    assert audit[-1]["to_state"] == "confirmed" and audit[-1]["receipt_id"] == 4
    assert set(audit[-1]) >= {"subject", "purpose", "method", "notice_version", "evidence_hash"}


def test_illegal_event_changes_nothing(ledger, engine, audit) -> None:
    with pytest.raises(ConsentError):
        ledger.apply(SUBJECT, "service", E.CONFIRMED, at=T0)
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(consent_receipts)).scalar() == 0
    assert audit == []


def test_stop_withdraws_all_and_marketing_stop_one(ledger) -> None:
    chat_double_optin(ledger)
    ledger.apply(SUBJECT, "marketing", E.EXTERNAL_FIRST_OPTIN, at=T0, notice_version="v1")
    ledger.withdraw(SUBJECT, ["marketing"], method=Method.META_USER_PREFERENCES, at=T0)
    assert ledger.state(SUBJECT) == {"service": S.CONFIRMED, "marketing": S.WITHDRAWN}
    receipts = ledger.withdraw(SUBJECT, at=T0)  # STOP: marketing already withdrawn is skipped
    assert [r.purpose for r in receipts] == ["service"]
    assert ledger.send_context(SUBJECT, T0).opted_out is True


def test_external_optin_then_expiry(ledger) -> None:
    ledger.record_external_optin("wa_web", ["service", "marketing"], at=T0, evidence_id="form-9")
    assert ledger.state("wa_web") == {
        "service": S.AWAITING_CONFIRMATION,
        "marketing": S.AWAITING_CONFIRMATION,
    }
    assert ledger.expire_pending(T0 + timedelta(hours=71)) == []
    ledger.apply("wa_web", "service", E.CONFIRMED, at=T0 + timedelta(hours=70))
    expired = ledger.expire_pending(T0 + timedelta(hours=72))
    assert [(r.purpose, r.to_state) for r in expired] == [("marketing", S.EXPIRED)]
    assert ledger.history("wa_web")[0].method is Method.WEB_FORM


def test_external_optin_needs_a_notice_version(engine) -> None:
    with pytest.raises(ConfigError):
        ConsentLedger(engine, KEY).record_external_optin("wa_web", ["service"])


def test_unknown_purpose_and_short_key(ledger, engine) -> None:
    with pytest.raises(ConfigError, match="unknown purpose"):
        ledger.apply(SUBJECT, "surveys", E.NOTICE_SHOWN, notice_version="v1")
    with pytest.raises(ConfigError, match="hash_key"):
        ConsentLedger(engine, b"short")


def test_window_and_opt_out_confirmation(ledger) -> None:
    ctx = ledger.send_context(SUBJECT, T0)
    assert (ctx.window_open, ctx.opted_out, ctx.opt_out_confirmation_sent) == (False, False, False)
    ledger.record_inbound(SUBJECT, T0)
    assert ledger.send_context(SUBJECT, T0 + timedelta(hours=23)).window_open is True
    assert ledger.send_context(SUBJECT, T0 + timedelta(hours=24)).window_open is False
    chat_double_optin(ledger)  # rows created by record_inbound are updated in place
    ledger.withdraw(SUBJECT, at=T0)
    ledger.mark_opt_out_confirmation_sent(SUBJECT, T0)
    assert ledger.send_context(SUBJECT, T0).opt_out_confirmation_sent is True
    ledger.apply_many(SUBJECT, ["service", "marketing"], E.OPT_IN_RESTART, notice_version="v1")
    ctx = ledger.send_context(SUBJECT, T0)
    assert (ctx.opted_out, ctx.opt_out_confirmation_sent) == (False, False)
    ledger.record_window_closed(SUBJECT)
    assert ledger.send_context(SUBJECT, T0).window_open is False


def test_a_purpose_added_later_gets_its_row_at_the_next_message(engine, audit) -> None:
    before = ConsentLedger(engine, KEY, audit.append, notice_version="v1", purposes=["service"])
    before.record_inbound(SUBJECT, T0)
    chat_double_optin(before)
    after = ConsentLedger(engine, KEY, audit.append, notice_version="v1")  # marketing added
    after.record_inbound(SUBJECT, T0 + timedelta(hours=1))
    assert after.state(SUBJECT) == {"service": S.CONFIRMED, "marketing": S.NONE}
    assert after.send_context(SUBJECT, T0 + timedelta(hours=2)).window_open is True
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(sa.func.count()).select_from(consent_state)
            .where(consent_state.c.subject == SUBJECT)
        ).scalar()
    assert rows == 2


def test_erasure_marks_every_purpose_and_keeps_receipts(ledger) -> None:
    chat_double_optin(ledger)
    ledger.record_inbound(SUBJECT, T0)
    receipts = ledger.mark_erased(SUBJECT, at=T0)
    assert {r.purpose for r in receipts} == {"service", "marketing"}
    assert ledger.state(SUBJECT) == {"service": S.ERASED, "marketing": S.ERASED}
    assert ledger.mark_erased(SUBJECT, at=T0) == []  # idempotent
    assert ledger.send_context(SUBJECT, T0).window_open is False
    assert len(ledger.history(SUBJECT)) == 6


def test_compare_and_set_refuses_a_stale_move(ledger) -> None:
    chat_double_optin(ledger)
    stale = ledger.records(SUBJECT)["service"]
    ledger.withdraw(SUBJECT, at=T0)
    from compliance.consent import transitions
    from compliance.consent.model import ConsentEvent

    new, receipt = transitions.apply(stale, ConsentEvent(E.WITHDRAWN, T0))
    with pytest.raises(ConsentError, match="concurrently"):
        with ledger._engine.begin() as conn:  # noqa: SLF001 - exercising the guard directly
            ledger._store(conn, stale, new, receipt)  # noqa: SLF001
