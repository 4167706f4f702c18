"""EncryptedTrackerStore against a migrated database: Rasa's interface, append-only saves,
sessions, the tracker cache, two writers, erasure, tampering and outages."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from rasa.shared.core.events import ActionExecuted, SlotSet
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity

from compliance.errors import IntegrityFailure, StorageUnavailable
from compliance.identity.subject_keys import SubjectKeyStore
from compliance.storage import create_engine_from_url
from compliance.tracker_store import EncryptedTrackerStore
from compliance.tracker_store.tables import tracker_conversations, tracker_events

SENDER = "wa_ps_0123456789abcdef"


def _tracker(domain, events, sender: str = SENDER) -> DialogueStateTracker:
    return DialogueStateTracker.from_events(sender, events, domain.slots)


def _rows(engine, sender: str = SENDER) -> list:
    with engine.connect() as conn:
        return list(
            conn.execute(
                sa.select(tracker_events.c.seq, tracker_events.c.type_name)
                .where(tracker_events.c.sender_id == sender)
                .order_by(tracker_events.c.seq)
            )
        )


def _state(tracker: DialogueStateTracker) -> dict:
    return tracker.current_state(EventVerbosity.ALL)


async def test_save_then_retrieve_round_trips_events_and_state(
    store, store_factory, domain, conversation
):
    tracker = _tracker(domain, conversation(3))
    await store.save(tracker)
    got = await store.retrieve(SENDER)
    full = await store.retrieve_full_tracker(SENDER)
    assert got is not None and full is not None
    assert [e.as_dict() for e in full.events] == [e.as_dict() for e in tracker.events]
    # the latest session starts at session_started, after action_session_start
    assert [e.as_dict() for e in got.events] == [e.as_dict() for e in tracker.events][1:]
    assert got.get_slot("phone") == "+393331234567"
    assert got.latest_message.text == tracker.latest_message.text
    cold = await store_factory().retrieve(SENDER)
    assert _state(cold) == _state(got)


async def test_unknown_sender_is_none_and_not_listed(store):
    assert await store.retrieve("nobody") is None
    assert await store.retrieve_full_tracker("nobody") is None
    assert not await store.exists("nobody")
    assert list(await store.keys()) == []


async def test_save_appends_only_new_events(store, domain, conversation, engine):
    tracker = await store.get_or_create_tracker(SENDER)
    assert len(_rows(engine)) == 1  # action_listen from create_tracker
    for _ in range(3):
        tracker = await store.retrieve(SENDER)
        for event in conversation(1)[3:]:
            tracker.update(event)
        await store.save(tracker)
        await store.save(tracker)  # saving twice writes nothing twice
    rows = _rows(engine)
    assert [r.seq for r in rows] == list(range(1 + 3 * 6))
    assert len((await store.retrieve(SENDER)).events) == len(rows)


async def test_retrieve_returns_latest_session_and_full_returns_all(store, domain, conversation):
    events = conversation(2, sessions=3)
    await store.save(_tracker(domain, events))
    latest = await store.retrieve(SENDER)
    full = await store.retrieve_full_tracker(SENDER)
    assert len(full.events) == len(events)
    assert latest.events[0].type_name == "session_started"
    assert len(latest.events) == len(events) // 3 - 1  # from session_started on
    assert latest.get_slot("order_id") == full.get_slot("order_id")


async def test_new_session_in_a_turn_then_cache_matches_cold_rebuild(
    store, store_factory, domain, conversation
):
    await store.save(_tracker(domain, conversation(2)))
    tracker = await store.retrieve(SENDER)
    for event in conversation(1):  # a session expired: action_session_start, session_started..
        tracker.update(event)
    await store.save(tracker)
    warm = await store.retrieve(SENDER)
    cold = await store_factory().retrieve(SENDER)
    assert _state(warm) == _state(cold)
    assert warm.events[0].type_name == "session_started"


async def test_two_instances_writing_alternately_interleave_correctly(
    store, store_factory, domain, conversation, engine
):
    other = store_factory()
    await store.save(_tracker(domain, conversation(1)))
    for i in range(4):
        writer = store if i % 2 == 0 else other
        tracker = await writer.retrieve(SENDER)
        tracker.update(SlotSet("order_id", f"B-{i}"))
        tracker.update(ActionExecuted("action_listen"))
        await writer.save(tracker)
    assert [r.seq for r in _rows(engine)] == list(range(9 + 8))
    for s in (store, other, store_factory()):
        assert (await s.retrieve(SENDER)).get_slot("order_id") == "B-3"


async def test_stale_tracker_from_before_another_writer_appends_after_it(
    store, store_factory, domain, conversation, engine
):
    await store.save(_tracker(domain, conversation(1)))
    mine = await store.retrieve(SENDER)
    other = store_factory()
    theirs = await other.retrieve(SENDER)
    theirs.update(SlotSet("order_id", "theirs"))
    await other.save(theirs)
    mine.update(SlotSet("order_id", "mine"))
    await store.save(mine)
    full = await store_factory().retrieve_full_tracker(SENDER)
    assert [e.value for e in full.events if isinstance(e, SlotSet)][-2:] == ["theirs", "mine"]
    assert len(_rows(engine)) == 9 + 2


async def test_erased_subject_has_no_conversation_and_saves_are_dropped(
    store, store_factory, domain, conversation, subject_keys, engine
):
    await store.save(_tracker(domain, conversation(2)))
    tracker = await store.retrieve(SENDER)
    subject_keys.destroy(SENDER)
    assert not await store.exists(SENDER)
    assert await store.retrieve(SENDER) is None
    assert await store.retrieve_full_tracker(SENDER) is None
    assert _rows(engine) == []  # shredded rows are removed on sight
    tracker.update(SlotSet("order_id", "after erasure"))
    await store.save(tracker)  # no crash, nothing written back
    assert _rows(engine) == []
    # the same person writes again: a new key, a new conversation, nothing of the old one
    fresh = await store.get_or_create_tracker(SENDER)
    assert fresh.get_slot("order_id") is None and len(_rows(engine)) == 1


async def test_key_destroyed_in_another_process_without_deleting_rows(
    store, store_factory, domain, conversation, subject_keys, engine
):
    await store.save(_tracker(domain, conversation(1)))
    other = SubjectKeyStore(engine, subject_keys.keyring)
    other.destroy(SENDER)
    other.get_or_create(SENDER)  # and the subject came back: generation 2
    reader = store_factory(cache_size=0)
    reader._keys = other
    assert await reader.retrieve(SENDER) is None  # old generation: SubjectErased, not a crash
    assert _rows(engine) == []


async def test_delete_removes_conversation_and_a_tracker_held_during_it_is_not_resurrected(
    store, domain, conversation, engine
):
    await store.save(_tracker(domain, conversation(2)))
    held = await store.retrieve(SENDER)
    assert await store.delete(SENDER) is True
    assert await store.delete(SENDER) is False
    assert await store.retrieve(SENDER) is None
    held.update(SlotSet("order_id", "x"))
    await store.save(held)  # the erasure ran during this turn: deletion wins
    assert _rows(engine) == []
    fresh = await store.get_or_create_tracker(SENDER)
    assert len(fresh.events) == 1 and len(_rows(engine)) == 1


async def test_keys_and_exists(store, domain, conversation):
    for sender in ("wa_a", "wa_b"):
        await store.save(_tracker(domain, conversation(1), sender))
    assert sorted(await store.keys()) == ["wa_a", "wa_b"]
    assert await store.exists("wa_a")


async def test_swapped_sealed_blobs_fail_integrity(store, store_factory, domain, conversation):
    await store.save(_tracker(domain, conversation(1)))
    with store.engine.begin() as conn:
        blobs = dict(
            conn.execute(
                sa.select(tracker_events.c.seq, tracker_events.c.sealed).where(
                    tracker_events.c.sender_id == SENDER
                )
            ).all()
        )
        conn.execute(
            tracker_events.update()
            .where(tracker_events.c.sender_id == SENDER, tracker_events.c.seq == 3)
            .values(sealed=blobs[4])
        )
    with pytest.raises(IntegrityFailure):
        await store_factory().retrieve(SENDER)


async def test_conversation_row_tracks_count_and_session(store, domain, conversation, engine):
    await store.save(_tracker(domain, conversation(1, sessions=2)))
    with engine.connect() as conn:
        row = conn.execute(sa.select(tracker_conversations)).one()
    assert (row.event_count, row.session_start_seq) == (18, 10)


async def test_database_outage_is_storage_unavailable(domain, subject_keys, tmp_path):
    engine = create_engine_from_url(f"sqlite:///{tmp_path}/missing/dir/x.db")
    store = EncryptedTrackerStore(domain, engine=engine, subject_keys=subject_keys)
    with pytest.raises(StorageUnavailable):
        await store.retrieve(SENDER)
    with pytest.raises(StorageUnavailable):
        await store.keys()


async def test_cache_disabled_gives_the_same_answers(store_factory, domain, conversation):
    store = store_factory(cache_size=0)
    await store.save(_tracker(domain, conversation(2)))
    tracker = await store.retrieve(SENDER)
    tracker.update(SlotSet("order_id", "z"))
    await store.save(tracker)
    assert (await store.retrieve(SENDER)).get_slot("order_id") == "z"
