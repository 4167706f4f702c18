"""A turn's start is one durable commit: the channel takes the message's inbox lease, refreshes
the sender's 24-hour window and appends the inbound audit entry in one transaction (real gate,
SQLite). Claimed once, audited once; a fault half-way leaves neither lease, window nor entry."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from compliance.audit.reader import iter_entries
from compliance.errors import StorageUnavailable
from compliance.gate import ComplianceGate
from compliance.storage.sqlite_write_lock import held_in_this_process
from connectors.whatsapp.channel import WhatsAppInput
from connectors.whatsapp.config import WhatsAppConfig
from connectors.whatsapp.inbox import Inbox, NewInbound
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


def test_the_message_is_opened_before_the_transaction_that_holds_the_write_lock(channel):
    """The turn start's transaction holds SQLite's write lock, which the webhook front waits on
    to acknowledge: the message's decryption (and a new sender's key unwrapping) runs before."""
    whatsapp, context = channel
    seq = record(whatsapp)
    opened = whatsapp.inbox._sealer.open  # noqa: SLF001 - the gate the inbox opens with
    locked: list[bool] = []

    def opening(*args):  # type: ignore[no-untyped-def]
        locked.append(held_in_this_process(context.engine.url.database))
        return opened(*args)

    whatsapp.inbox._sealer.open = opening  # noqa: SLF001
    assert whatsapp._claim_and_audit(seq) is not None
    assert locked == [False]


@pytest.mark.parametrize("done", ["before_it_was_read", "after_it_was_read"])
def test_a_message_done_meanwhile_is_neither_claimed_nor_audited(channel, done) -> None:
    """Another instance ran the message between the queue's call and the lease: the content
    read before the transaction is not used."""
    whatsapp, context = channel
    seq = record(whatsapp)
    if done == "before_it_was_read":
        whatsapp.inbox.complete(seq)
    else:
        peek = whatsapp.inbox.peek

        def peek_then_done(seq_: int):  # type: ignore[no-untyped-def]
            item = peek(seq_)
            whatsapp.inbox.complete(seq_)
            return item

        whatsapp.inbox.peek = peek_then_done  # type: ignore[method-assign]
    assert whatsapp._claim_and_audit(seq) is None
    assert inbound_entries(context) == [] and lease_owner(context, seq) is None
