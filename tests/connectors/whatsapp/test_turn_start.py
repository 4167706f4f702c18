"""A turn's start is one commit: the message's inbox lease, the sender's 24-hour window refresh
and the inbound audit entry in one transaction (real gate, SQLite). The webhook front makes it
after answering Meta, leasing the message to the server, which then starts the turn with a read;
the server makes it itself for a message nobody leased. Either way: leased once, audited once,
and a fault half-way leaves neither lease, window nor entry."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from compliance.audit.reader import iter_entries
from compliance.errors import StorageUnavailable
from compliance.gate import ComplianceGate
from connectors.whatsapp.channel import WhatsAppInput
from connectors.whatsapp.config import WhatsAppConfig
from connectors.whatsapp.inbox import Inbox, NewInbound
from connectors.whatsapp.simulator.webhooks import sign
from connectors.whatsapp.webhook_receiver import Outcome, WebhookReceiver
from tests.compliance_env import compliance_context

CREDENTIALS = {
    "app_secret": "secret",
    "verify_token": "verify",
    "access_token": "token",
    "phone_number_id": "106540352242922",
}
SUBJECT = "wa_" + "t" * 32


@pytest.fixture
def channel(tmp_path: Path):  # type: ignore[no-untyped-def]
    context = compliance_context(tmp_path)
    gate = ComplianceGate(context)
    config = WhatsAppConfig.from_credentials(CREDENTIALS, {})
    yield WhatsAppInput(config, gate, Inbox(context.engine, gate)), context
    context.audit.close()


def record(channel: WhatsAppInput) -> int:
    payload = {"text": "hello", "metadata": {}, "id_hash": "h-1", "type": "text",
               "message_id": "wamid.1"}
    (recorded,) = channel.inbox.record([NewInbound("h-1", SUBJECT, payload)])
    assert recorded.seq is not None
    return recorded.seq


def inbound_entries(context) -> list:  # type: ignore[no-untyped-def]
    return [e for e in iter_entries(context.engine) if e.kind == "inbound_message"]


def window_open(context) -> bool:  # type: ignore[no-untyped-def]
    return context.ledger.send_context(SUBJECT, datetime.now(timezone.utc)).window_open


def lease_owner(context, seq: int) -> str | None:  # type: ignore[no-untyped-def]
    with context.engine.connect() as conn:
        return conn.execute(
            sa.text("SELECT lease_owner FROM wa_inbox WHERE seq = :s"), {"s": seq}
        ).scalar_one()


def test_a_claimed_message_is_audited_and_opens_the_window_once(channel) -> None:
    whatsapp, context = channel
    seq = record(whatsapp)
    item = whatsapp._claim_and_audit(seq)
    again = whatsapp._claim_and_audit(seq)  # another worker, or a sweep, while the lease holds
    assert item is not None and item.payload["text"] == "hello" and again is None
    (entry,) = inbound_entries(context)
    assert entry.subject == SUBJECT and entry.component == "channel"
    assert json.loads(entry.attributes) == {
        "message_type": "text",
        "message_id_hash": "h-1",
        "content_hash": context.keyed_hash("content", "hello"),
    }
    assert window_open(context) and lease_owner(context, seq) == whatsapp.inbox.owner


def test_a_fault_after_the_window_refresh_leaves_no_lease_no_window_no_entry(channel) -> None:
    whatsapp, context = channel
    seq = record(whatsapp)
    refresh = context.ledger.record_inbound_on

    def refresh_then_fail(conn, subject, at=None):  # type: ignore[no-untyped-def]
        refresh(conn, subject, at)  # the lease and the window are written by now
        raise sa.exc.OperationalError("UPDATE", {}, Exception("disk I/O error"))

    context.ledger.record_inbound_on = refresh_then_fail  # type: ignore[method-assign]
    with pytest.raises(StorageUnavailable):  # the turn queue logs it; the sweep retries
        whatsapp._claim_and_audit(seq)
    assert inbound_entries(context) == [] and not window_open(context)
    assert lease_owner(context, seq) is None  # still pending: the sweep will claim it
    context.ledger.record_inbound_on = refresh  # type: ignore[method-assign]
    assert whatsapp._claim_and_audit(seq) is not None and len(inbound_entries(context)) == 1


FIXTURE = (
    Path(__file__).resolve().parents[2]
    / "fixtures/whatsapp/webhooks-sigillo/msg-text__sigillo__phone-and-bsuid.json"
)


def front_records(whatsapp: WhatsAppInput) -> tuple[WebhookReceiver, Outcome]:
    """The front's side: a receiver whose inbox leases to the server's owner, and a webhook
    it answered 200 to."""
    gate = whatsapp.gate
    receiver = WebhookReceiver(
        whatsapp.config, gate, Inbox(gate.engine, gate, owner=whatsapp.inbox.owner)
    )
    raw = FIXTURE.read_bytes()
    outcome = receiver.receive(raw, sign(CREDENTIALS["app_secret"], raw))
    assert outcome.status == 200 and len(outcome.accepted) == 1
    return receiver, outcome


def test_the_front_starts_the_turn_and_the_server_takes_it_with_a_read(channel) -> None:
    whatsapp, context = channel
    receiver, outcome = front_records(whatsapp)
    (recorded,) = outcome.accepted
    assert inbound_entries(context) == [] and lease_owner(context, recorded.seq) is None
    receiver.start_turns(outcome)  # after the answer, before the doorbell
    (entry,) = inbound_entries(context)
    assert entry.subject == recorded.subject
    assert lease_owner(context, recorded.seq) == whatsapp.inbox.owner
    with context.engine.connect() as conn:
        window = conn.execute(
            sa.text("SELECT last_inbound_at FROM consent_state WHERE subject = :s"),
            {"s": recorded.subject},
        ).scalars().all()
    assert window and all(window)  # the sender's window opened with the arrival
    item = whatsapp._start_turn(recorded.seq)
    assert item is not None and item.subject == recorded.subject
    assert len(inbound_entries(context)) == 1  # the server's start wrote nothing more
    receiver.start_turns(outcome)  # a second start (a retried task) leases nothing again
    assert len(inbound_entries(context)) == 1


def test_a_message_the_server_claimed_first_is_not_audited_again_by_the_front(channel) -> None:
    whatsapp, context = channel
    receiver, outcome = front_records(whatsapp)
    (recorded,) = outcome.accepted
    assert whatsapp._start_turn(recorded.seq) is not None  # the sweep found it before the front
    receiver.start_turns(outcome)
    assert len(inbound_entries(context)) == 1


def test_a_start_the_front_could_not_make_is_made_by_the_server(channel) -> None:
    whatsapp, context = channel
    receiver, outcome = front_records(whatsapp)
    (recorded,) = outcome.accepted
    refresh = context.ledger.record_inbound_on

    def fail(conn, subject, at=None):  # type: ignore[no-untyped-def]
        raise sa.exc.OperationalError("UPDATE", {}, Exception("disk I/O error"))

    context.ledger.record_inbound_on = fail  # type: ignore[method-assign]
    receiver.start_turns(outcome)  # logged, not raised: the answer was given already
    context.ledger.record_inbound_on = refresh  # type: ignore[method-assign]
    assert inbound_entries(context) == [] and lease_owner(context, recorded.seq) is None
    assert whatsapp._start_turn(recorded.seq) is not None
    assert len(inbound_entries(context)) == 1
    assert lease_owner(context, recorded.seq) == whatsapp.inbox.owner
