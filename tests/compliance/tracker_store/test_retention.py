"""Retention: idle conversations go, active ones stay; the CLI runs it and audits the run."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from rasa.shared.core.events import SlotSet
from rasa.shared.core.trackers import DialogueStateTracker

from compliance.errors import ConfigError
from compliance.tracker_store import delete_idle_conversations
from compliance.tracker_store.tables import tracker_conversations, tracker_events

T0 = datetime(2025, 1, 1, 12, tzinfo=timezone.utc)


def _count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


async def _save_at(store_factory, domain, events, sender, when):
    store = store_factory()
    store._clock = lambda: when
    await store.save(DialogueStateTracker.from_events(sender, events, domain.slots))
    return store


async def test_idle_conversations_are_deleted_and_active_kept(
    store_factory, domain, conversation, engine
):
    await _save_at(store_factory, domain, conversation(1), "wa_old", T0)
    await _save_at(store_factory, domain, conversation(1), "wa_new", T0 + timedelta(days=29))
    audit: list[dict] = []
    now = T0 + timedelta(days=31)
    assert delete_idle_conversations(engine, 30, now, audit=audit.append) == 1
    store = store_factory()
    assert await store.retrieve("wa_old") is None
    assert await store.retrieve("wa_new") is not None
    assert _count(engine, tracker_conversations) == 1
    assert _count(engine, tracker_events) == 9
    assert audit == [
        {
            "component": "tracker_store",
            "kind": "retention_run",
            "subject": None,
            "attributes": {"older_than_days": 30, "conversations": 1},
        }
    ]


async def test_a_new_turn_makes_a_conversation_active_again(
    store_factory, domain, conversation, engine
):
    store = await _save_at(store_factory, domain, conversation(1), "wa_x", T0)
    tracker = await store.retrieve("wa_x")
    tracker.update(SlotSet("order_id", "again"))
    store._clock = lambda: T0 + timedelta(days=40)
    await store.save(tracker)
    assert delete_idle_conversations(engine, 30, T0 + timedelta(days=41)) == 0


@pytest.mark.parametrize(
    "days,now",
    [(0, T0), (-1, T0), (True, T0), ("30", T0), (30, T0.replace(tzinfo=None))],
    ids=["zero", "negative", "bool", "string", "naive_now"],
)
def test_bad_arguments_are_config_errors(engine, days, now) -> None:
    with pytest.raises(ConfigError):
        delete_idle_conversations(engine, days, now)


def test_cli_runs_retention_and_audits(tmp_path: Path) -> None:
    from compliance.keys.keyfile import write_new_keyfile

    key_file = tmp_path / "keys.json"
    write_new_keyfile(key_file)
    env = {
        "SIGILLO_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "SIGILLO_KEY_FILE": str(key_file),
        "PATH": "/usr/bin:/bin",
    }
    root = Path(__file__).resolve().parents[3]
    done = subprocess.run(
        [sys.executable, "-m", "compliance", "retention", "run", "--days", "7"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "conversations_deleted": 0,
        "media_deleted": 0,
        "older_than_days": 7,
    }
    engine = sa.create_engine(env["SIGILLO_DATABASE_URL"], future=True)
    with engine.connect() as conn:
        kinds = list(conn.execute(sa.text("SELECT kind FROM audit_entries")).scalars())
    assert kinds == ["retention_run", "retention_run"]  # conversations, then media
    bad = subprocess.run(
        [sys.executable, "-m", "compliance", "retention", "run", "--days", "0"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2 and "--days" in bad.stderr
