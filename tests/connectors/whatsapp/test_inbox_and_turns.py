"""The inbox records each message once and the turn queue runs each recorded turn once, in order
per sender, including turns left pending by a process that died."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from sqlalchemy import event

from compliance.storage import create_engine_from_url, migrate
from connectors.whatsapp.inbox import Inbox, InboxItem, NewInbound
from connectors.whatsapp.turn_queue import TurnQueue


class XorSealer:
    """A stand-in sealer for storage tests: reversible, and never the plaintext at rest."""

    def seal(self, subject: str, field: str, data: bytes) -> bytes:
        return bytes(b ^ 0x5A for b in data)

    def open(self, subject: str, field: str, token: bytes) -> bytes:
        return bytes(b ^ 0x5A for b in token)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def engine(tmp_path):
    engine = create_engine_from_url(f"sqlite:///{tmp_path / 'inbox.db'}")
    migrate(engine)
    return engine


def message(n: int, subject: str = "wa_a") -> NewInbound:
    return NewInbound(id_hash=f"h{n}", subject=subject, payload={"text": f"hello {n}"})


def test_a_message_id_is_recorded_once_across_bodies_and_instances(engine):
    first, second = Inbox(engine, XorSealer()), Inbox(engine, XorSealer())
    recorded = first.record([message(1), message(1), message(2)])
    assert [r.duplicate for r in recorded] == [False, True, False]
    assert all(r.duplicate for r in second.record([message(1), message(2)]))


def test_webhooks_recording_at_the_same_moment_share_one_durable_commit(engine):
    """The webhook front's threads queue behind a commit in progress, then commit together: one
    fsync for the queue instead of one each, and each caller still gets its own results."""
    inbox = Inbox(engine, XorSealer())
    first_commit_started, release_first_commit = threading.Event(), threading.Event()

    def hold_the_first_commit(_connection) -> None:
        if not first_commit_started.is_set():
            first_commit_started.set()
            assert release_first_commit.wait(10)

    event.listen(engine, "commit", hold_the_first_commit)
    bodies = [[message(1)], [message(2), message(3)], [message(1)], [message(4, "wa_b")]]
    results: dict[int, list] = {}

    def record(index: int) -> None:
        results[index] = inbox.record(bodies[index])

    threads = [threading.Thread(target=record, args=(i,)) for i in range(len(bodies))]
    threads[0].start()
    assert first_commit_started.wait(10)
    for thread in threads[1:]:
        thread.start()
    deadline = time.monotonic() + 10
    while inbox._recorder.waiting < 3 and time.monotonic() < deadline:  # noqa: SLF001
        time.sleep(0.001)
    release_first_commit.set()
    for thread in threads:
        thread.join(10)

    assert inbox._recorder.batches == 2 and inbox._recorder.items == 4  # noqa: SLF001
    assert [r.subject for r in results[1]] + [r.subject for r in results[3]] == ["wa_a"] * 2 + [
        "wa_b"
    ]
    assert results[2][0].duplicate and not results[0][0].duplicate
    seqs = [r.seq for i in (0, 1, 3) for r in results[i]]
    assert None not in seqs and len(set(seqs)) == 4
    assert sorted(seq for seq, _ in inbox.recoverable()) == sorted(seqs)


def test_sealed_payload_is_not_stored_in_clear(engine, tmp_path):
    Inbox(engine, XorSealer()).record([message(7)])
    assert b"hello 7" not in (tmp_path / "inbox.db").read_bytes()


def test_a_claimed_message_cannot_be_claimed_twice_until_its_lease_expires(engine):
    clock = Clock()
    a = Inbox(engine, XorSealer(), clock=clock, lease_seconds=30)
    b = Inbox(engine, XorSealer(), clock=clock, lease_seconds=30)
    (rec,) = a.record([message(1)])
    assert a.claim(rec.seq) == InboxItem(rec.seq, "wa_a", {"text": "hello 1"})
    assert b.claim(rec.seq) is None
    assert b.recoverable() == []
    clock.now += 31  # the first worker died mid-turn
    assert b.recoverable() == [(rec.seq, "wa_a")]
    assert b.claim(rec.seq) is not None
    b.complete(rec.seq)
    assert b.claim(rec.seq) is None and b.recoverable() == []


def test_status_sightings_and_numbered_choices(engine):
    inbox = Inbox(engine, XorSealer())
    with engine.begin() as conn:
        assert inbox.first_status_sighting_on(conn, "k1") is True
    with engine.begin() as conn:
        assert inbox.first_status_sighting_on(conn, "k1") is False
    inbox.save_choices("wa_a", {"1": "/affirm", "2": "/deny"})
    assert inbox.load_choices("wa_a") == {"1": "/affirm", "2": "/deny"}
    inbox.save_choices("wa_a", {})
    assert inbox.load_choices("wa_a") == {}


async def test_turns_run_once_in_order_per_sender(engine):
    inbox = Inbox(engine, XorSealer())
    seen: list[tuple[str, str]] = []

    async def run_turn(item: InboxItem) -> None:
        await asyncio.sleep(0.001 if item.subject == "wa_a" else 0)
        seen.append((item.subject, item.payload["text"]))

    queue = TurnQueue(inbox, run_turn)
    for rec in inbox.record([message(i, "wa_a" if i % 2 else "wa_b") for i in range(1, 9)]):
        queue.submit(rec.seq, rec.subject)
        queue.submit(rec.seq, rec.subject)  # a duplicate submit is a no-op
    await queue.wait_idle(timeout=5)
    assert [t for s, t in seen if s == "wa_a"] == ["hello 1", "hello 3", "hello 5", "hello 7"]
    assert [t for s, t in seen if s == "wa_b"] == ["hello 2", "hello 4", "hello 6", "hello 8"]
    assert inbox.recoverable() == []


async def test_a_restart_processes_what_the_dead_process_left_pending(engine):
    clock = Clock()
    dead = Inbox(engine, XorSealer(), clock=clock)
    recorded = dead.record([message(1), message(2)])
    assert dead.claim(recorded[0].seq) is not None  # it died during this turn
    clock.now += 60
    seen: list[str] = []

    async def run_turn(item: InboxItem) -> None:
        seen.append(item.payload["text"])

    queue = TurnQueue(Inbox(engine, XorSealer(), clock=clock), run_turn)
    assert queue.sweep() == 2
    await queue.wait_idle(timeout=5)
    assert seen == ["hello 1", "hello 2"]


async def test_a_failing_turn_is_marked_failed_not_replayed(engine):
    inbox = Inbox(engine, XorSealer())
    calls = 0

    async def run_turn(item: InboxItem) -> None:
        nonlocal calls
        calls += 1
        raise RuntimeError("boom")

    queue = TurnQueue(inbox, run_turn)
    (rec,) = inbox.record([message(1)])
    queue.submit(rec.seq, rec.subject)
    await queue.wait_idle(timeout=5)
    assert calls == 1 and queue.sweep() == 0
