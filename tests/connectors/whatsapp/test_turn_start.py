"""A message's receipt is one durable commit, and its turn starts without another.

The webhook records the message's inbox row, already leased to the server that will run the turn,
with the sender's 24-hour window refresh and the inbound audit entry, in one commit that waits for
the disk (Meta is told 200 after it); a fault half-way leaves none of them, and the webhook answers
503. The turn then takes its message with a read; a lease that ran short while the message waited
is renewed first, and another instance's live lease keeps the turn out. Real gate, SQLite.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from compliance.audit.reader import iter_entries
from compliance.gate import ComplianceGate
from connectors.whatsapp.config import WhatsAppConfig
from connectors.whatsapp.inbox import Inbox
from connectors.whatsapp.simulator.webhooks import sign
from connectors.whatsapp.webhook_receiver import WebhookReceiver
from tests.commit_levels import commit_levels
from tests.compliance_env import compliance_context

REPO = Path(__file__).resolve().parents[3]
TEXT_WEBHOOK = (
    REPO / "tests/fixtures/whatsapp/webhooks-sigillo/msg-text__sigillo__phone-and-bsuid.json"
)
CREDENTIALS = {
    "app_secret": "secret",
    "verify_token": "verify",
    "access_token": "token",
    "phone_number_id": "106540352242922",
}
LEASE = 30.0


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def stack(tmp_path: Path):  # type: ignore[no-untyped-def]
    context = compliance_context(tmp_path)
    gate = ComplianceGate(context)
    clock = Clock()
    inbox = Inbox(context.engine, gate, lease_seconds=LEASE, clock=clock, owner="this-server")
    receiver = WebhookReceiver(WhatsAppConfig.from_credentials(CREDENTIALS, {}), gate, inbox)
    yield receiver, inbox, context, clock
    context.audit.close()


def receive(receiver: WebhookReceiver) -> tuple[int, list]:  # type: ignore[type-arg]
    raw = TEXT_WEBHOOK.read_bytes()
    outcome = receiver.receive(raw, sign("secret", raw))
    return outcome.status, outcome.accepted


def inbound_entries(context) -> list:  # type: ignore[no-untyped-def]
    return [e for e in iter_entries(context.engine) if e.kind == "inbound_message"]


def window_open(context, subject: str) -> bool:  # type: ignore[no-untyped-def]
    return context.ledger.send_context(subject, datetime.now(timezone.utc)).window_open


def lease(context, seq: int) -> tuple[str | None, float | None]:  # type: ignore[no-untyped-def]
    with context.engine.connect() as conn:
        row = conn.execute(
            sa.text("SELECT lease_owner, lease_until FROM wa_inbox WHERE seq = :s"), {"s": seq}
        ).one()
    return row.lease_owner, row.lease_until


def test_a_received_message_is_leased_audited_and_opens_the_window_in_one_durable_commit(
    stack,
) -> None:
    receiver, inbox, context, clock = stack
    levels = commit_levels(context.audit._writer)  # noqa: SLF001 - the engine the log commits on
    status, (recorded,) = receive(receiver)
    again_status, again = receive(receiver)  # Meta's redelivery
    assert status == 200 and again_status == 200 and again == []
    assert levels == ["durable", "durable"]  # the redelivery's commit holds nothing new
    (entry,) = inbound_entries(context)
    assert entry.subject == recorded.subject and entry.component == "channel"
    assert json.loads(entry.attributes) == {
        "message_type": "text",
        "message_id_hash": context.keyed_hash("message_id", "wamid.SIGILLOBOTH1"),
        "content_hash": context.keyed_hash("content", "ciao"),
    }
    assert window_open(context, recorded.subject)
    assert lease(context, recorded.seq) == ("this-server", clock.now + LEASE)


def test_a_fault_half_way_leaves_no_row_no_window_no_entry_and_answers_503(stack) -> None:
    receiver, inbox, context, _clock = stack
    refresh = context.ledger.record_inbound_on

    def refresh_then_fail(conn, subject, at=None):  # type: ignore[no-untyped-def]
        refresh(conn, subject, at)  # the inbox row and the window are written by now
        raise sa.exc.OperationalError("UPDATE", {}, Exception("disk I/O error"))

    context.ledger.record_inbound_on = refresh_then_fail  # type: ignore[method-assign]
    status, accepted = receive(receiver)
    assert status == 503 and accepted == []  # Meta redelivers
    with context.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM wa_inbox")).scalar_one() == 0
    assert inbound_entries(context) == []
    context.ledger.record_inbound_on = refresh  # type: ignore[method-assign]
    status, (recorded,) = receive(receiver)  # the redelivery
    assert status == 200 and len(inbound_entries(context)) == 1
    assert window_open(context, recorded.subject)


def test_the_turn_takes_its_leased_message_with_a_read_and_no_commit(stack) -> None:
    receiver, inbox, context, _clock = stack
    _status, (recorded,) = receive(receiver)
    levels = commit_levels(context.engine)
    item = inbox.take(recorded.seq)
    assert item is not None and item.payload["text"] == "ciao" and levels == []


def test_a_lease_that_ran_short_while_waiting_is_renewed_before_the_turn(stack) -> None:
    receiver, inbox, context, clock = stack
    _status, (recorded,) = receive(receiver)
    clock.now += LEASE * 0.75  # a backlog: a quarter of the lease left, too little for a turn
    levels = commit_levels(context.engine)
    assert inbox.take(recorded.seq) is not None
    assert lease(context, recorded.seq) == ("this-server", clock.now + LEASE)
    assert levels == ["relaxed"]  # replayable from the durable row: no wait for the disk


def test_another_instance_waits_for_the_lease_then_takes_over(stack) -> None:
    receiver, inbox, context, clock = stack
    _status, (recorded,) = receive(receiver)
    other = Inbox(context.engine, ComplianceGate(context), lease_seconds=LEASE, clock=clock)
    assert other.take(recorded.seq) is None and other.recoverable() == []
    assert inbox.recoverable() == [(recorded.seq, recorded.subject)]  # ours: a lost doorbell
    clock.now += LEASE + 1  # this server died with the message
    assert other.recoverable() == [(recorded.seq, recorded.subject)]
    assert other.take(recorded.seq) is not None
    assert inbox.take(recorded.seq) is None  # the old owner, back, finds it taken
