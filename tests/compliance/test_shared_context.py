"""One compliance core per process and database: the channel, ConsentPolicy and the tracker
store of one Rasa server share one engine, one key store and one AuditLog, whatever the
component; each component's entries still carry its own label (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from rasa.core.tracker_store import TrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.utils.endpoints import EndpointConfig

from compliance.context import (
    build_context,
    close_shared,
    shared_context,
    shared_storage,
)
from compliance.tracker_store import EncryptedTrackerStore
from tests.compliance_env import compliance_env

STORE = "compliance.tracker_store.EncryptedTrackerStore"


@pytest.fixture
def env(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """The Rasa server's environment (it is the process's, as Rasa builds the store from it)."""
    values = {**compliance_env(tmp_path), "SIGILLO_DATABASE_URL": db_url}
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("SIGILLO_PSEUDONYM_KEY", raising=False)
    yield values
    close_shared()


def labels(engine: sa.engine.Engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT component, kind FROM audit_entries ORDER BY seq"))
        return [(row.component, row.kind) for row in rows]


def test_two_components_share_one_core_and_label_their_own_entries(env) -> None:
    channel = shared_context(env, "channel")
    policy = shared_context(env, "rasa")
    assert (channel.component, policy.component) == ("channel", "rasa")
    for part in ("engine", "keyring", "keys", "vault", "audit", "settings"):
        assert getattr(channel, part) is getattr(policy, part), part
    assert shared_context(env, "channel") is channel  # one context per component, too
    channel.record("inbound_message", None, message_type="text")
    policy.record("bot_action", None, action="utter_greet")
    assert labels(channel.engine) == [("channel", "inbound_message"), ("rasa", "bot_action")]


def test_each_components_ledger_labels_its_consent_changes(env) -> None:
    from compliance.consent.model import EventType

    channel = shared_context(env, "channel")
    action = shared_context(env, "action_server")
    subject = channel.vault.register("phone", "+393331234568")
    channel.ledger.apply(subject, "service", EventType.NOTICE_SHOWN, notice_version="v1")
    action.ledger.apply(subject, "service", EventType.CONSENT_ASKED, notice_version="v1")
    assert labels(channel.engine) == [
        ("channel", "consent_change"),
        ("action_server", "consent_change"),
    ]


def test_contexts_asked_for_from_many_threads_are_one(env) -> None:
    barrier = threading.Barrier(8)
    found: list[object] = []

    def ask(n: int) -> None:
        barrier.wait()
        found.append(shared_context(env, "channel" if n % 2 else "rasa").audit)

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(audit) for audit in found}) == 1


def endpoint(env: dict[str, str], spelling: str, tmp_path: Path) -> EndpointConfig:
    """The tracker_store section of endpoints.yml, as Rasa reads it, in each spelling."""
    options = {
        "endpoints_default": {},  # bot/endpoints.yml: the compliance database by default
        "same_url_and_key_file": {
            "url": env["SIGILLO_DATABASE_URL"],
            "key_file": env["SIGILLO_KEY_FILE"],
        },
        "other_database": {"url": f"sqlite:///{tmp_path / 'other.db'}"},
    }[spelling]
    return EndpointConfig(type=STORE, **options)


@pytest.mark.parametrize(
    "spelling,shared",
    [("endpoints_default", True), ("same_url_and_key_file", True), ("other_database", False)],
    ids=["endpoints_default", "same_url_and_key_file", "other_database"],
)
async def test_the_tracker_store_built_by_rasa_shares_the_compliance_core(
    env, tmp_path: Path, spelling: str, shared: bool
) -> None:
    channel = shared_context(env, "channel")
    domain = Domain.from_yaml('version: "3.1"\nintents: [greet]\n')
    store = TrackerStore.create(endpoint(env, spelling, tmp_path), domain)
    assert isinstance(store, EncryptedTrackerStore)
    assert (store.engine is channel.engine) is shared
    assert (store._audit is channel.audit) is shared
    assert (store._keys is channel.keys) is shared
    if not shared:  # its own core, shared in turn by every store on that database
        other = shared_storage(f"sqlite:///{tmp_path / 'other.db'}")
        assert store.engine is other.engine and store._audit is other.audit
    subject = channel.vault.register("phone", "+393331234569")
    tracker = await store.get_or_create_tracker(subject)
    tracker.update(UserUttered("hi", {"name": "greet"}))
    tracker.update(ActionExecuted("utter_greet"))
    await store.save(tracker)
    channel.record("outbound_message", subject)
    entries = labels(channel.engine)
    assert ("channel", "outbound_message") in entries
    assert (("rasa", "bot_action") in entries) is shared  # else on the other database


def test_a_relative_sqlite_path_names_the_same_database(env, db_url, monkeypatch) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("a file path spelling is SQLite's")
    absolute = Path(db_url.removeprefix("sqlite:///"))
    monkeypatch.chdir(absolute.parent)
    relative = shared_storage(f"sqlite:///{absolute.name}")
    assert relative is shared_storage(db_url)
    assert relative.audit is shared_context(env, "channel").audit


def test_build_context_stays_fresh_and_unshared(env) -> None:
    shared = shared_context(env, "channel")
    fresh = build_context(env, "cli")
    try:
        assert fresh.engine is not shared.engine and fresh.audit is not shared.audit
    finally:
        fresh.audit.close()
        fresh.engine.dispose()
