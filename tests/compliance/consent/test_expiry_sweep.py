"""The expiry sweep (ConsentLedger.expire_pending), the one function behind `python -m compliance
consent expire` and the channel's periodic housekeeping: what it expires, that two sweeps at
once write one receipt and one audit entry per record, and the gate's housekeeping over it.
On SQLite, and on PostgreSQL with SIGILLO_TEST_POSTGRES_URL."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from compliance.consent.ledger import ConsentLedger
from compliance.consent.model import ConsentState as S
from compliance.consent.model import EventType as E
from compliance.consent.tables import consent_receipts
from compliance.storage import create_engine_from_url

T0 = datetime(2025, 1, 1, 12, tzinfo=timezone.utc)
EXPIRY = timedelta(hours=72)
KEY = b"k" * 32
REPO = Path(__file__).resolve().parents[3]


def ledger_on(engine, audit: list[dict]) -> ConsentLedger:  # type: ignore[no-untyped-def]
    return ConsentLedger(engine, KEY, audit.append, notice_version="v1", pending_expiry=EXPIRY)


def web_form_optin(ledger: ConsentLedger, subject: str, at: datetime, purposes=("service",)):  # type: ignore[no-untyped-def]
    ledger.record_external_optin(subject, purposes, at=at, evidence_id=f"form-{subject}")


def expire_receipts(engine) -> Counter:  # type: ignore[no-untyped-def]
    query = sa.select(consent_receipts.c.subject, consent_receipts.c.purpose).where(
        consent_receipts.c.event == E.EXPIRE.value
    )
    with engine.connect() as conn:
        return Counter(tuple(row) for row in conn.execute(query))


CASES = [
    # label, opt-in age, then what happened, expected state after the sweep
    ("due", EXPIRY, None, S.EXPIRED),
    ("long overdue", EXPIRY * 10, None, S.EXPIRED),
    ("not yet due", EXPIRY - timedelta(minutes=1), None, S.AWAITING_CONFIRMATION),
    ("confirmed in time", EXPIRY * 2, E.CONFIRMED, S.CONFIRMED),
    ("refused", EXPIRY * 2, E.REFUSED, S.REFUSED),
    ("withdrawn (STOP)", EXPIRY * 2, E.WITHDRAWN, S.WITHDRAWN),
]


@pytest.mark.parametrize(
    ("age", "then", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_what_the_sweep_expires(engine, age, then, expected) -> None:
    audit: list[dict] = []
    ledger = ledger_on(engine, audit)
    now = T0 + EXPIRY * 20
    web_form_optin(ledger, "wa_s", now - age)
    if then is not None:
        ledger.apply("wa_s", "service", then, at=now - age + timedelta(minutes=1))
    before = len(audit)
    receipts = ledger.expire_pending(now)
    assert ledger.state("wa_s")["service"] is expected
    expired = expected is S.EXPIRED
    assert [(r.purpose, r.event) for r in receipts] == ([("service", E.EXPIRE)] if expired else [])
    assert [(a["event"], a["method"]) for a in audit[before:]] == (
        [("expire", "system")] if expired else []
    )
    assert ledger.expire_pending(now) == []  # idempotent


def test_every_purpose_and_subject_in_one_sweep(engine) -> None:
    audit: list[dict] = []
    ledger = ledger_on(engine, audit)
    web_form_optin(ledger, "wa_a", T0, ("service", "marketing"))
    web_form_optin(ledger, "wa_b", T0 + EXPIRY)  # not due at the sweep below
    receipts = ledger.expire_pending(T0 + EXPIRY + timedelta(seconds=1))
    assert sorted((r.subject, r.purpose) for r in receipts) == [
        ("wa_a", "marketing"),
        ("wa_a", "service"),
    ]
    assert ledger.state("wa_b")["service"] is S.AWAITING_CONFIRMATION


@pytest.mark.parametrize("sweeps", [2, 3])
def test_concurrent_sweeps_write_one_receipt_per_record(db_url: str, sweeps: int) -> None:
    """Several server instances sweeping at the same moment, each with its own engine."""
    subjects = [f"wa_c{i:03d}" for i in range(40)]
    setup_engine = create_engine_from_url(db_url)
    setup = ledger_on(setup_engine, [])
    for subject in subjects:
        web_form_optin(setup, subject, T0)
    engines = [create_engine_from_url(db_url) for _ in range(sweeps)]
    audits: list[list[dict]] = [[] for _ in range(sweeps)]
    results: list[list] = [[] for _ in range(sweeps)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(sweeps)

    def sweep(i: int) -> None:
        try:
            ledger = ledger_on(engines[i], audits[i])
            barrier.wait()
            results[i] = ledger.expire_pending(T0 + EXPIRY * 2)
        except BaseException as exc:  # reported below, with the thread's own exception
            errors.append(exc)

    threads = [threading.Thread(target=sweep, args=(i,)) for i in range(sweeps)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    try:
        assert errors == []
        swept = [(r.subject, r.purpose) for result in results for r in result]
        assert sorted(swept) == [(s, "service") for s in subjects]  # each once, in all
        assert expire_receipts(setup_engine) == Counter({(s, "service"): 1 for s in subjects})
        audited = [(a["subject"], a["event"]) for audit in audits for a in audit]
        assert sorted(audited) == [(s, "expire") for s in subjects]
        assert {setup.state(s)["service"] for s in subjects} == {S.EXPIRED}
    finally:
        for e in [setup_engine, *engines]:
            e.dispose()


def test_a_late_tap_racing_the_sweep_gets_one_outcome(engine) -> None:
    """The user's tap and the sweep both act on the same pending record: one wins, the other
    changes nothing (the tap's confirmation is refused once the opt-in is due)."""
    audit: list[dict] = []
    ledger = ledger_on(engine, audit)
    web_form_optin(ledger, "wa_r", T0)
    now = T0 + EXPIRY + timedelta(minutes=5)
    assert len(ledger.expire_pending(now)) == 1
    with pytest.raises(Exception):  # noqa: B017 - ConsentError: not awaiting confirmation
        ledger.apply("wa_r", "service", E.CONFIRMED, at=now)
    assert expire_receipts(engine) == Counter({("wa_r", "service"): 1})


# --- the gate's housekeeping: what the channel calls on its timer --------------------------


@pytest.fixture
def gate(tmp_path: Path):  # type: ignore[no-untyped-def]
    from compliance.gate import ComplianceGate
    from tests.compliance_env import compliance_context

    sweep = {"pending_confirmation_sweep_minutes: 15": "pending_confirmation_sweep_minutes: 0.5"}
    context = compliance_context(tmp_path, settings_edits=sweep)
    yield ComplianceGate(context)
    context.audit.close()


def test_gate_housekeeping_expires_and_audits_as_the_channel(gate) -> None:
    ledger = gate.context.ledger
    assert gate.housekeeping_interval_seconds() == 30
    ledger.record_external_optin(
        "wa_gate1aaaaaaaaaaaaaaaa", ["service"], at=datetime.now(timezone.utc) - EXPIRY * 2
    )
    ledger.record_external_optin("wa_gate2aaaaaaaaaaaaaaaa", ["service"])  # just now: stays pending
    assert gate.housekeeping() == 1
    assert gate.housekeeping() == 0
    assert ledger.state("wa_gate1aaaaaaaaaaaaaaaa")["service"] is S.EXPIRED
    assert ledger.state("wa_gate2aaaaaaaaaaaaaaaa")["service"] is S.AWAITING_CONFIRMATION
    query = sa.text(
        "SELECT component, attributes FROM audit_entries "
        "WHERE subject = 'wa_gate1aaaaaaaaaaaaaaaa' AND kind = 'consent_change' ORDER BY seq"
    )
    with gate.engine.connect() as conn:
        rows = conn.execute(query).all()
    assert rows[-1][0] == "channel" and '"event":"expire"' in rows[-1][1].replace(" ", "")
