"""A save and the `bot_action` audit entries of the actions it writes: one transaction of the
audit log, so a failure anywhere between them leaves neither; stale trackers, write conflicts and
saves with nothing to audit. SQLite, and PostgreSQL when its URL is set."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from rasa.shared.core.events import ActionExecuted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy.exc import IntegrityError

from compliance.audit import AuditLog, verify_database
from compliance.audit.reader import iter_entries
from compliance.errors import ConfigError
from compliance.storage import create_engine_from_url, migrate
from compliance.storage.sqlite_write_lock import held_in_this_process
from compliance.tracker_store import EncryptedTrackerStore, repository
from compliance.tracker_store.tables import tracker_events

SEED = bytes(range(32))  # test-only signing seed
PSEUDONYM = "wa_" + "a" * 32  # what the channels hand Rasa


@pytest.fixture
def audited_store(store_factory, audit):  # type: ignore[no-untyped-def]
    return lambda: store_factory(audit=audit)


def _tracker(domain, events, sender: str = PSEUDONYM) -> DialogueStateTracker:  # type: ignore[no-untyped-def]
    return DialogueStateTracker.from_events(sender, events, domain.slots)


def _actions(events) -> list[str]:  # type: ignore[no-untyped-def]
    return [
        e.action_name
        for e in events
        if isinstance(e, ActionExecuted) and e.action_name != "action_listen"
    ]


def _audited(engine) -> list[tuple[str, str | None, str]]:  # type: ignore[no-untyped-def]
    """(kind, subject, action) of every audit entry, in log order."""
    return [
        (e.kind, e.subject, json.loads(e.attributes).get("action")) for e in iter_entries(engine)
    ]


def _event_count(engine, sender: str = PSEUDONYM) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return conn.execute(
            sa.select(sa.func.count()).where(tracker_events.c.sender_id == sender)
        ).scalar_one()


async def test_each_new_bot_action_is_audited_once_by_name(
    audited_store, domain, conversation, engine, audit
):
    store = audited_store()
    tracker = _tracker(domain, conversation(2))
    await store.save(tracker)
    actions = _actions(tracker.events)
    assert _audited(engine) == [("bot_action", PSEUDONYM, a) for a in actions]
    await store.save(tracker)  # nothing new: nothing audited again
    assert len(_audited(engine)) == len(actions)
    raw = _tracker(domain, conversation(1), sender="default")  # e.g. `rasa shell`
    await store.save(raw)
    assert {subject for _, subject, _ in _audited(engine)[len(actions) :]} == {None}
    assert verify_database(engine, audit.public_key).ok


async def test_a_turn_adds_its_events_and_its_entries_in_one_commit(
    audited_store, domain, conversation, engine, audit
):
    store = audited_store()
    await store.save(_tracker(domain, conversation(1)))
    tracker = await store.retrieve(PSEUDONYM)
    before_events, before_entries = _event_count(engine), len(_audited(engine))
    commits = audit._group.batches  # noqa: SLF001 - how many audit commits the save took
    tracker.update(UserUttered("again", {"name": "order_status", "confidence": 0.9}))
    tracker.update(ActionExecuted("utter_order", policy="RulePolicy"))
    tracker.update(ActionExecuted("action_listen"))
    await store.save(tracker)
    assert audit._group.batches == commits + 1  # noqa: SLF001
    assert _event_count(engine) == before_events + 3
    assert _audited(engine)[before_entries:] == [("bot_action", PSEUDONYM, "utter_order")]


@pytest.mark.parametrize(
    "failure",
    ["audit_append_fails", "sealing_fails", "event_insert_fails"],
)
async def test_a_failure_between_the_events_and_their_entries_leaves_neither(
    audited_store, domain, conversation, engine, audit, subject_keys, monkeypatch, failure
):
    store = audited_store()
    await store.save(_tracker(domain, conversation(1)))  # the conversation exists
    tracker = await store.retrieve(PSEUDONYM)
    tracker.update(ActionExecuted("utter_order", policy="RulePolicy"))
    tracker.update(ActionExecuted("action_listen"))
    events_before, entries_before = _event_count(engine), _audited(engine)

    def broken(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError(f"injected: {failure}")

    if failure == "audit_append_fails":  # after the events were written in the transaction
        monkeypatch.setattr(audit, "append_locked", broken)
    elif failure == "sealing_fails":
        monkeypatch.setattr(subject_keys, "seal_for", broken)
    else:
        monkeypatch.setattr(repository, "_INSERT_EVENTS", sa.text("INSERT INTO nowhere"))
    with pytest.raises(Exception):  # noqa: B017 - each injected failure has its own type
        await store.save(tracker)
    assert _event_count(engine) == events_before
    assert _audited(engine) == entries_before
    monkeypatch.undo()
    await store.save(tracker)  # the same turn, saved again, lands once with its entry
    assert _event_count(engine) == events_before + 2
    assert _audited(engine)[len(entries_before) :] == [("bot_action", PSEUDONYM, "utter_order")]
    assert verify_database(engine, audit.public_key).ok


async def test_a_write_conflict_is_retried_and_lands_once(
    audited_store, domain, conversation, engine, audit, monkeypatch
):
    store = audited_store()
    real = repository.append_on
    conflicts = {"left": 1}

    def conflicting(*args, **kwargs):  # type: ignore[no-untyped-def]
        result = real(*args, **kwargs)  # written in the transaction, then another writer wins
        if conflicts["left"]:
            conflicts["left"] -= 1
            raise IntegrityError("INSERT", {}, Exception("unique (sender_id, seq)"))
        return result

    monkeypatch.setattr(repository, "append_on", conflicting)
    tracker = _tracker(domain, conversation(2))
    await store.save(tracker)
    assert conflicts["left"] == 0
    assert _event_count(engine) == len(tracker.events)
    assert _audited(engine) == [("bot_action", PSEUDONYM, a) for a in _actions(tracker.events)]
    assert verify_database(engine, audit.public_key).ok


async def test_a_stale_tracker_audits_exactly_what_it_appends(
    audited_store, domain, conversation, engine, audit
):
    mine_store, their_store = audited_store(), audited_store()  # two Rasa servers
    await mine_store.save(_tracker(domain, conversation(1)))
    mine = await mine_store.retrieve(PSEUDONYM)
    theirs = await their_store.retrieve(PSEUDONYM)
    theirs.update(ActionExecuted("utter_greet", policy="RulePolicy"))
    await their_store.save(theirs)
    mine.update(SlotSet("order_id", "mine"))
    mine.update(ActionExecuted("utter_order", policy="RulePolicy"))
    await mine_store.save(mine)  # the compare-and-set misses: appended after theirs
    assert [a for _, _, a in _audited(engine)][-2:] == ["utter_greet", "utter_order"]
    full = await audited_store().retrieve_full_tracker(PSEUDONYM)
    assert _actions(full.events)[-2:] == ["utter_greet", "utter_order"]
    assert verify_database(engine, audit.public_key).ok


async def test_a_save_without_bot_actions_takes_no_audit_commit(
    audited_store, domain, conversation, engine, audit
):
    store = audited_store()
    await store.save(_tracker(domain, conversation(1)))
    tracker = await store.retrieve(PSEUDONYM)
    commits, entries = audit._group.items, _audited(engine)  # noqa: SLF001
    tracker.update(UserUttered("hello", {"name": "greet", "confidence": 0.9}))
    tracker.update(SlotSet("order_id", "x"))
    tracker.update(ActionExecuted("action_listen"))
    await store.save(tracker)
    assert audit._group.items == commits  # noqa: SLF001
    assert _audited(engine) == entries
    assert (await audited_store().retrieve(PSEUDONYM)).get_slot("order_id") == "x"


def test_an_audit_log_on_another_database_is_refused(domain, engine, subject_keys, tmp_path):
    other = create_engine_from_url(f"sqlite:///{tmp_path / 'elsewhere.db'}")
    migrate(other)
    log = AuditLog(other, SEED)
    with pytest.raises(ConfigError, match="same database|store's database"):
        EncryptedTrackerStore(domain, engine=engine, subject_keys=subject_keys, audit=log)
    log.close()
    other.dispose()


async def test_each_bot_action_names_the_message_it_answered(audited_store, domain, engine):
    """`in_reply_to` ties a turn's entries to its message, audited when it arrived (and for a
    subject that is not a pseudonym, nothing: its entries name no one)."""
    events = [
        UserUttered("hi", {"name": "greet"}, message_id="hash-of-message-1"),
        ActionExecuted("utter_greet"),
        ActionExecuted("action_listen"),
        UserUttered("order?", {"name": "order_status"}, message_id="hash-of-message-2"),
        ActionExecuted("action_order_status"),
        ActionExecuted("utter_order"),
        ActionExecuted("action_listen"),
    ]
    await audited_store().save(_tracker(domain, events))
    await audited_store().save(_tracker(domain, events, sender="default"))
    answered = [
        (e.subject, json.loads(e.attributes)["action"], json.loads(e.attributes).get("in_reply_to"))
        for e in iter_entries(engine)
    ]
    assert answered == [
        (PSEUDONYM, "utter_greet", "hash-of-message-1"),
        (PSEUDONYM, "action_order_status", "hash-of-message-2"),
        (PSEUDONYM, "utter_order", "hash-of-message-2"),
        (None, "utter_greet", None),
        (None, "action_order_status", None),
        (None, "utter_order", None),
    ]


def _writing(engine: sa.engine.Engine) -> bool:
    """Whether this process is inside a write transaction on `engine`'s database: SQLite's
    write lock held; on PostgreSQL, which has no such lock, a connection checked out (the
    audit log writes through the shared engine there)."""
    if engine.dialect.name == "sqlite":
        return held_in_this_process(engine.url.database)
    return engine.pool.checkedout() > 0


@pytest.mark.parametrize("audited", [True, False], ids=["audited", "nothing_to_audit"])
async def test_a_save_seals_its_events_before_its_transaction(
    store_factory, audit, domain, conversation, engine, subject_keys, monkeypatch, audited
):
    """The append's transaction holds the database's write lock (SQLite's is the webhook front's
    to wait on before it acknowledges), so the events that the tracker's mark predicts are
    sealed while no connection of the process holds that lock (repository.preseal)."""
    store = store_factory(audit=audit) if audited else store_factory()
    await store.save(_tracker(domain, conversation(1)))
    tracker = await store.retrieve(PSEUDONYM)
    tracker.update(SlotSet("order_id", "A-9"))
    if audited:
        tracker.update(ActionExecuted("utter_order", policy="RulePolicy"))
    tracker.update(ActionExecuted("action_listen"))
    seal_for = subject_keys.seal_for
    locked: list[bool] = []

    def sealing(*args):  # type: ignore[no-untyped-def]
        locked.append(_writing(engine))
        return seal_for(*args)

    monkeypatch.setattr(subject_keys, "seal_for", sealing)
    await store.save(tracker)
    assert locked == [False] * (3 if audited else 2)
    monkeypatch.undo()
    full = await store_factory().retrieve_full_tracker(PSEUDONYM)  # opens under the right seqs
    assert [e.value for e in full.events if isinstance(e, SlotSet)][-1] == "A-9"
