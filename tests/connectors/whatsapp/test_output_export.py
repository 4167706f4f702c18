"""The data-export document asks the compliance gate like any other message: after STOP nothing
goes (and the refusal is audited); with confirmed consent it goes on to be sent."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from compliance.audit.reader import iter_entries
from compliance.gate import ComplianceGate
from connectors.whatsapp.gate import EXPORT_DOCUMENT
from connectors.whatsapp.inbox import Inbox
from connectors.whatsapp.output_channel import WhatsAppOutput
from connectors.whatsapp.sender_identity import IdentifierKind, SubjectIdentifier
from devstack.consent import grant_consent
from tests.compliance_env import compliance_context

PHONE = SubjectIdentifier(IdentifierKind.PHONE, "+393331112233")


class NoGraph:
    """Fails the test if anything reaches Meta."""

    def __getattr__(self, name: str):  # noqa: ANN204
        raise AssertionError(f"the Graph API was called ({name}) for a refused export")


@pytest.fixture
def context(tmp_path: Path):  # type: ignore[no-untyped-def]
    context = compliance_context(tmp_path)
    yield context
    context.audit.close()


def export_message() -> dict:
    return {"custom": {"sigillo_export": {"file": "missing.sealed", "field": "export"}}}


def refusals(context, subject: str) -> list[dict]:  # type: ignore[no-untyped-def]
    return [
        json.loads(e.attributes)
        for e in iter_entries(context.engine)
        if e.kind == "send_refused" and e.subject == subject
    ]


def test_after_stop_the_export_is_refused_and_audited(context) -> None:  # type: ignore[no-untyped-def]
    gate = ComplianceGate(context)
    subject = gate.admit(PHONE)
    grant_consent(context, [subject])
    context.ledger.withdraw(subject)
    context.ledger.record_inbound(subject)  # the user wrote: the window is open
    output = WhatsAppOutput(NoGraph(), gate, Inbox(context.engine, gate))  # type: ignore[arg-type]
    asyncio.run(output.send_response(subject, export_message()))
    assert [r["response"] for r in refusals(context, subject)] == [EXPORT_DOCUMENT]


def test_with_consent_the_export_gets_past_the_gate(context) -> None:  # type: ignore[no-untyped-def]
    gate = ComplianceGate(context)
    subject = gate.admit(PHONE)
    grant_consent(context, [subject])
    context.ledger.record_inbound(subject)  # the user wrote: the window is open
    output = WhatsAppOutput(NoGraph(), gate, Inbox(context.engine, gate))  # type: ignore[arg-type]
    # Past the gate, the (missing) sealed file is the next thing to fail: audited as such.
    asyncio.run(output.send_response(subject, export_message()))
    assert refusals(context, subject) == []
    failures = [
        json.loads(e.attributes)
        for e in iter_entries(context.engine)
        if e.kind == "delivery_status" and e.subject == subject
    ]
    assert [f["error"] for f in failures] == ["export_failed"]
