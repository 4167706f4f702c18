"""Invariant 1 on the raw bytes of the database, and Rasa loading the store from endpoints.yml."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from rasa.core.tracker_store import TrackerStore
from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig, read_endpoint_config

from compliance.errors import ConfigError
from compliance.tracker_store import EncryptedTrackerStore

PHONE = "+393331234567"
SECRETS = (PHONE, "393331234567", "my secret order text", "wamid.")


async def test_no_phone_or_text_in_the_raw_database(store, domain, conversation, engine, db_url):
    await store.save(DialogueStateTracker.from_events("wa_p", conversation(5), domain.slots))
    assert (await store.retrieve("wa_p")).get_slot("phone") == PHONE  # it is there, sealed
    if engine.dialect.name == "sqlite":
        path = db_url.removeprefix("sqlite:///")
        engine.dispose()
        raw = b""
        for suffix in ("", "-wal"):
            try:
                with open(path + suffix, "rb") as fh:
                    raw += fh.read()
            except FileNotFoundError:
                pass
        assert b"order_status" in raw  # the scan does see clear text where there is some
        dumped = raw.decode("latin-1")
    else:
        with engine.connect() as conn:
            dumped = "\n".join(
                str(tuple(row))
                for table in ("tracker_events", "tracker_conversations")
                for row in conn.execute(sa.text(f"SELECT * FROM {table}"))
            )
        assert "order_status" in dumped
    for secret in SECRETS:
        assert secret not in dumped, f"{secret!r} found in clear"


@pytest.fixture
def endpoints_file(tmp_path, db_url, engine):  # engine: migrated, cleaned up after
    path = tmp_path / "endpoints.yml"
    path.write_text(
        "tracker_store:\n"
        "  type: compliance.tracker_store.EncryptedTrackerStore\n"
        f"  url: {db_url}\n"
        "  key_file: ${SIGILLO_KEY_FILE}\n"
        "  retention_days: 14\n"
    )
    return path


async def test_rasa_creates_the_store_from_endpoints_yml_and_runs_a_tracker(
    endpoints_file, domain, tmp_path, monkeypatch
):
    from compliance.keys.keyfile import write_new_keyfile

    write_new_keyfile(tmp_path / "keys.json")
    monkeypatch.setenv("SIGILLO_KEY_FILE", str(tmp_path / "keys.json"))
    config = read_endpoint_config(str(endpoints_file), "tracker_store")
    store = TrackerStore.create(config, domain)
    assert isinstance(store, EncryptedTrackerStore) and store.retention_days == 14
    tracker = await store.get_or_create_tracker("wa_rasa")
    tracker.update(UserUttered("my secret order text", {"name": "order_status"}))
    tracker.update(SlotSet("order_id", "A-1"))
    tracker.update(ActionExecuted("utter_order"))
    tracker.update(BotUttered("Your order is on its way."))
    await store.save(tracker)
    again = await TrackerStore.create(config, domain).retrieve("wa_rasa")  # another process
    assert again.get_slot("order_id") == "A-1"
    assert again.latest_message.text == "my secret order text"
    assert [e.type_name for e in again.events][-4:] == ["user", "slot", "action", "bot"]
    assert list(await store.keys()) == ["wa_rasa"]


@pytest.mark.parametrize(
    "options,field",
    [
        ({"url": "mysql://u:hunter2@db/x"}, "url"),
        ({"retention_days": 0}, "retention_days"),
        ({"retention_days": "thirty"}, "retention_days"),
        ({"cache_size": -1}, "cache_size"),
        ({"key_file": 3}, "key_file"),
        ({"retention_day": 30}, "retention_day"),
    ],
    ids=["bad_scheme", "zero_days", "days_not_int", "negative_cache", "key_file_type", "typo"],
)
def test_bad_config_names_the_field_and_never_echoes_secrets(domain, options, field) -> None:
    config = EndpointConfig(type="compliance.tracker_store.EncryptedTrackerStore", **options)
    with pytest.raises(ConfigError) as raised:
        TrackerStore.create(config, domain)
    assert field in str(raised.value) and "hunter2" not in str(raised.value)
