"""read_open_requests on a real audit log, SQLite and PostgreSQL: only the kinds the fold reads are
streamed, and times and attributes come back as the fold expects them."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from compliance.audit import AuditLog, NewEntry
from compliance.rights import read_open_requests, served_entry

SEED = bytes(range(32))
ANA = "wa_" + "a" * 32
BOB = "wa_" + "b" * 32


def asks(subject: str, request: str) -> NewEntry:
    attributes = {"request": request, "status": "pending_operator", "channel": "chat_after_opt_out"}
    return NewEntry("action_server", "access_request", subject, attributes)


def test_read_open_requests(engine: Engine) -> None:
    log = AuditLog(engine, SEED)
    try:
        assert read_open_requests(engine) == []
        log.append(NewEntry("channel", "inbound_message", ANA, {"message_type": "text"}))
        first = log.append(asks(ANA, "access"))
        second = log.append(asks(BOB, "erasure"))
        log.append(NewEntry("channel", "send_refused", ANA, {"reason": "opted_out"}))
        [ana, bob] = read_open_requests(engine)
        assert (ana.seq, ana.subject, ana.request) == (first, ANA, "access")
        assert (bob.seq, bob.subject, bob.request) == (second, BOB, "erasure")
        assert ana.requested_at.tzinfo is not None and ana.requested_at <= bob.requested_at
        log.append(served_entry(ana, "exported"))
        assert [r.seq for r in read_open_requests(engine)] == [second]
        log.append(NewEntry("action_server", "erasure", BOB, {"keys_destroyed_count": 1}))
        assert read_open_requests(engine) == []
    finally:
        log.close()
