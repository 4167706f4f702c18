"""Which commits wait for the disk (compliance/storage/durability.py), read at each commit from
the database itself: SQLite's synchronous level (2 = FULL, fsync at commit; 1 = NORMAL), and
PostgreSQL's synchronous_commit. Recording an inbound message (Meta's 200 follows it), audit
appends by default wait; a turn's start does not; a group commit waits if any of its appends
must (tracker saves: tracker_store/test_turn_writes.py). SQLite, and PostgreSQL when its URL is
set."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from compliance.audit import AuditLog, NewEntry
from compliance.audit.log import _Request
from connectors.whatsapp.inbox import Inbox, NewInbound
from tests.commit_levels import commit_levels

SUBJECT = "wa_" + "d" * 32


class Sealer:
    def seal(self, subject: str, field: str, data: bytes) -> bytes:
        return data

    def open(self, subject: str, field: str, token: bytes) -> bytes:
        return token


def writer_of(audit: AuditLog) -> Engine:
    return audit._writer  # noqa: SLF001 - the engine the log commits on


def entry(kind: str = "operator_command") -> dict:
    return {"component": "cli", "kind": kind, "subject": None, "attributes": {}}


def test_audit_appends_wait_for_the_disk_unless_told_their_work_can_be_replayed(audit) -> None:
    levels = commit_levels(writer_of(audit))
    audit.append(entry())
    audit.append_derived(lambda conn: [entry()], durable=False)
    audit.append_derived(lambda conn: [entry()])
    assert levels == ["durable", "relaxed", "durable"]


def test_a_group_commit_waits_if_any_of_its_appends_must(audit) -> None:
    levels = commit_levels(writer_of(audit))
    relaxed = _Request(lambda conn: [NewEntry.coerce(entry())], durable=False)
    durable = _Request(lambda conn: [NewEntry.coerce(entry())], durable=True)
    audit._append_batch([relaxed, relaxed])  # noqa: SLF001 - one batch, as the group commits
    audit._append_batch([relaxed, durable])  # noqa: SLF001
    assert levels == ["relaxed", "durable"]


def test_recording_an_inbound_message_waits_and_leaves_the_engine_as_it_was(engine) -> None:
    levels = commit_levels(engine)
    inbox = Inbox(engine, Sealer())
    inbox.record([NewInbound(id_hash="h1", subject=SUBJECT, payload={"text": "hi"})])
    with engine.begin() as conn:  # the engine's other work: its usual level
        conn.exec_driver_sql("SELECT 1")
    assert levels[0] == "durable"
    expected_after = "relaxed" if engine.dialect.name == "sqlite" else "durable"
    assert levels[1:] == [expected_after]


def test_a_turns_start_does_not_wait_for_the_disk(engine, audit) -> None:  # type: ignore[no-untyped-def]
    from compliance.gate import ComplianceGate
    from connectors.whatsapp.gate import InboundFacts

    class Context:  # what on_inbound uses of the compliance context
        def __init__(self) -> None:
            self.audit = audit
            self.ledger = type("Ledger", (), {"record_inbound_on": lambda *a: True})()

        def entry(self, kind: str, subject: str, **attributes: object) -> dict:
            return {
                "component": "channel",
                "kind": kind,
                "subject": subject,
                "attributes": attributes,
            }

    levels = commit_levels(writer_of(audit))
    gate = ComplianceGate(Context())  # type: ignore[arg-type]
    facts = InboundFacts(SUBJECT, "text", "id-hash", "content-hash")
    assert gate.on_inbound(lambda conn: facts)
    assert levels == ["relaxed"]
