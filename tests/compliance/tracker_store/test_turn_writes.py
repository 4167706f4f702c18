"""Turn writes (turn_writes.py): a write registered under a user message's id runs in the
transaction that saves that message's event, and commits or rolls back with it; other messages'
writes, writes for another database and saves of a store without an audit log leave them to the
caller. SQLite, and PostgreSQL when its URL is set."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from compliance.tracker_store import turn_writes
from compliance.tracker_store.tables import tracker_events
from tests.commit_levels import commit_levels

PSEUDONYM = "wa_" + "b" * 32
MARKS = sa.Table("turn_write_marks", sa.MetaData(), sa.Column("message_id", sa.String))


@pytest.fixture
def marks(engine):  # type: ignore[no-untyped-def]
    """A table the registered writes insert into, so a test can see which ones committed."""
    MARKS.create(engine)
    yield
    MARKS.drop(engine)


def _mark(message_id: str):  # type: ignore[no-untyped-def]
    def write(conn) -> None:  # type: ignore[no-untyped-def]
        conn.execute(sa.insert(MARKS).values(message_id=message_id))

    return write


def _marked(engine) -> list[str]:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return sorted(conn.execute(sa.select(MARKS.c.message_id)).scalars())


def _events(engine) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return conn.execute(
            sa.select(sa.func.count()).where(tracker_events.c.sender_id == PSEUDONYM)
        ).scalar_one()


def _turn(domain, message_id: str, *, reply: bool = True) -> DialogueStateTracker:  # type: ignore[no-untyped-def]
    events = [
        ActionExecuted("action_listen"),
        UserUttered("where is my order?", {"name": "order_status"}, message_id=message_id),
    ]
    if reply:
        events.append(ActionExecuted("utter_order", policy="RulePolicy"))
    events.append(ActionExecuted("action_listen"))
    return DialogueStateTracker.from_events(PSEUDONYM, events, domain.slots)


async def test_a_message_write_commits_with_its_event_and_only_its_own(
    store_factory, audit, domain, engine, marks
):
    database = str(engine.url)
    turn_writes.register(database, "mid-1", _mark("mid-1"))
    turn_writes.register(database, "mid-other", _mark("mid-other"))
    await store_factory(audit=audit).save(_turn(domain, "mid-1"))
    assert _marked(engine) == ["mid-1"]
    assert turn_writes.withdraw(database, "mid-1") is False  # the save settled it
    assert turn_writes.withdraw(database, "mid-other") is True  # never saved: the caller's


async def test_a_turn_without_a_bot_action_still_runs_its_write(
    store_factory, audit, domain, engine, marks
):
    """A turn the bot answered with silence has nothing to audit, but its write still goes
    with its events, in the audit log's transaction."""
    turn_writes.register(str(engine.url), "mid-quiet", _mark("mid-quiet"))
    await store_factory(audit=audit).save(_turn(domain, "mid-quiet", reply=False))
    assert _marked(engine) == ["mid-quiet"]
    assert turn_writes.withdraw(str(engine.url), "mid-quiet") is False


async def test_a_failed_write_leaves_neither_it_nor_the_events_and_stays_registered(
    store_factory, audit, domain, engine, marks
):
    database = str(engine.url)

    def broken(conn) -> None:  # type: ignore[no-untyped-def]
        _mark("mid-2")(conn)
        raise RuntimeError("injected")

    turn_writes.register(database, "mid-2", broken)
    store = store_factory(audit=audit)
    with pytest.raises(Exception):  # noqa: B017 - the storage guard may rewrap it
        await store.save(_turn(domain, "mid-2"))
    assert _marked(engine) == [] and _events(engine) == 0
    turn_writes.register(database, "mid-2", _mark("mid-2"))  # the turn, saved again
    await store.save(_turn(domain, "mid-2"))
    assert _marked(engine) == ["mid-2"] and _events(engine) == 4
    assert turn_writes.withdraw(database, "mid-2") is False


async def test_writes_stay_with_the_caller_without_an_audit_log_or_on_another_database(
    store_factory, domain, engine, marks, audit
):
    turn_writes.register(str(engine.url), "mid-3", _mark("mid-3"))
    await store_factory().save(_turn(domain, "mid-3"))  # a store without the audit log
    turn_writes.register("sqlite:///elsewhere.db", "mid-4", _mark("mid-4"))
    await store_factory(audit=audit).save(
        DialogueStateTracker.from_events(
            "wa_" + "c" * 32,
            [UserUttered("hi", {"name": "greet"}, message_id="mid-4")],
            domain.slots,
        )
    )
    assert _marked(engine) == []
    assert turn_writes.withdraw(str(engine.url), "mid-3") is True
    assert turn_writes.withdraw("sqlite:///elsewhere.db", "mid-4") is True


@pytest.mark.parametrize(("completes_a_turn", "expected"), [(True, "relaxed"), (False, "durable")])
async def test_a_save_waits_for_the_disk_unless_it_completes_a_replayable_turn(
    store_factory, audit, domain, engine, completes_a_turn, expected
):
    """A save that runs a turn write completes an inbox row: if a power failure loses it, the
    turn is replayed from that durable row, so its commit need not wait for the disk. Any other
    save is its turn's only record (compliance/storage/durability.py)."""
    message_id = f"mid-durability-{completes_a_turn}"
    if completes_a_turn:
        turn_writes.register(str(engine.url), message_id, lambda conn: None)
    levels = commit_levels(audit._writer)  # noqa: SLF001 - the engine the log commits on
    await store_factory(audit=audit).save(_turn(domain, message_id))
    # The save's own commit is the last (on PostgreSQL the log shares the store's engine, on
    # which the subject's data key was created first).
    assert levels[-1] == expected
