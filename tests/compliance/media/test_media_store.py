"""MediaStore on SQLite and PostgreSQL: bytes sealed under the subject's key and bound to their
row, idempotent per media id, listed for the export, deleted by erasure, retention and the KEK
retirement sweep; crypto-shredding makes a copy taken before erasure unreadable."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from compliance.errors import IntegrityFailure, SubjectErased
from compliance.identity import SubjectKeyStore, complete_erasure
from compliance.keys import read_keyfile, write_new_keyfile
from compliance.media import (
    MediaNotFound,
    MediaRecorder,
    MediaStore,
    delete_media_older_than,
    delete_subject_media,
    delete_unreadable_media,
    list_media,
)
from compliance.media.tables import inbound_media

ANA = "wa_" + "a" * 43
BEN = "wa_" + "b" * 43
PHOTO = b"\xff\xd8\xff\xe0JFIF" + b"PLAINTEXT-PHOTO-MARKER" * 64
VOICE = b"OggS" + b"PLAINTEXT-VOICE-MARKER" * 64
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "secret" / "keys.json"
    write_new_keyfile(path)
    return path


@pytest.fixture
def keys(engine, key_file: Path) -> SubjectKeyStore:
    return SubjectKeyStore(engine, lambda: read_keyfile(key_file), cache_size=0)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(engine, keys: SubjectKeyStore, clock: Clock) -> MediaStore:
    return MediaStore(engine, keys, now=clock)


def _rows(engine) -> list:
    with engine.connect() as conn:
        return conn.execute(sa.select(inbound_media)).all()


def test_bytes_are_sealed_and_read_back_by_their_subject_only(engine, store) -> None:
    stored = store.put(ANA, "h1:" + "1" * 64, "image", "image/jpeg", PHOTO)
    assert stored.handle.startswith("med_") and stored.size_bytes == len(PHOTO)
    assert store.read(ANA, stored.handle) == PHOTO
    with pytest.raises(MediaNotFound):
        store.read(BEN, stored.handle)
    (row,) = _rows(engine)
    assert b"PLAINTEXT-PHOTO-MARKER" not in bytes(row.sealed)
    assert row.subject == ANA and row.kind == "image" and row.size_bytes == len(PHOTO)
    assert row.media_id_hash == "h1:" + "1" * 64 and row.key_generation == 1


def test_the_same_media_id_is_stored_once(engine, store) -> None:
    first = store.put(ANA, "h1:" + "2" * 64, "image", "image/jpeg", PHOTO)
    again = store.put(ANA, "h1:" + "2" * 64, "image", "image/jpeg", PHOTO)
    assert again.handle == first.handle
    assert len(_rows(engine)) == 1


def test_a_blob_moved_to_another_row_does_not_open(engine, store) -> None:
    photo = store.put(ANA, "h1:" + "3" * 64, "image", "image/jpeg", PHOTO)
    voice = store.put(ANA, "h1:" + "4" * 64, "audio", "audio/ogg", VOICE)
    with engine.begin() as conn:
        sealed = conn.execute(
            sa.select(inbound_media.c.sealed).where(inbound_media.c.handle == photo.handle)
        ).scalar_one()
        conn.execute(
            inbound_media.update()
            .where(inbound_media.c.handle == voice.handle)
            .values(sealed=sealed)
        )
    with pytest.raises(IntegrityFailure):
        store.read(ANA, voice.handle)


def test_listing_is_metadata_only_oldest_first(engine, store, clock) -> None:
    store.put(ANA, "h1:" + "5" * 64, "image", "image/jpeg", PHOTO)
    clock.now = T0 + timedelta(minutes=1)
    store.put(ANA, "h1:" + "6" * 64, "audio", "audio/ogg; codecs=opus", VOICE)
    store.put(BEN, "h1:" + "7" * 64, "image", "image/png", PHOTO)
    listed = [m.as_dict() for m in list_media(engine, ANA)]
    assert [(m["kind"], m["mime_type"], m["size_bytes"]) for m in listed] == [
        ("image", "image/jpeg", len(PHOTO)),
        ("audio", "audio/ogg; codecs=opus", len(VOICE)),
    ]
    assert listed[0]["received_at"] == T0.isoformat()
    assert set(listed[0]) == {"handle", "kind", "mime_type", "size_bytes", "received_at"}
    assert store.list(BEN)[0].kind == "image"


def test_erasure_shreds_and_deletes_the_subjects_media_only(engine, store, keys) -> None:
    ana = store.put(ANA, "h1:" + "8" * 64, "image", "image/jpeg", PHOTO)
    ben = store.put(BEN, "h1:" + "9" * 64, "image", "image/jpeg", PHOTO)
    with engine.connect() as conn:
        copy = conn.execute(
            sa.select(inbound_media.c.sealed).where(inbound_media.c.handle == ana.handle)
        ).scalar_one()
    keys.destroy(ANA)
    with pytest.raises(SubjectErased):
        store.read(ANA, ana.handle)
    with pytest.raises(SubjectErased):  # a copy taken before (a backup) does not open either
        keys.open_for(ANA, f"inbound_media:{ana.handle}", bytes(copy))
    assert delete_subject_media(engine, ANA) == 1
    assert [r.subject for r in _rows(engine)] == [BEN]
    assert store.read(BEN, ben.handle) == PHOTO


def test_retention_deletes_media_received_before_the_cutoff(engine, store, clock) -> None:
    store.put(ANA, "h1:" + "a" * 64, "image", "image/jpeg", PHOTO)
    clock.now = T0 + timedelta(days=40)
    kept = store.put(ANA, "h1:" + "b" * 64, "image", "image/jpeg", PHOTO)
    assert delete_media_older_than(engine, T0 + timedelta(days=30)) == 1
    assert [r.handle for r in _rows(engine)] == [kept.handle]
    with pytest.raises(ValueError):
        delete_media_older_than(engine, datetime(2026, 1, 1))


def test_the_retirement_sweep_deletes_what_no_live_key_opens(engine, store, keys, key_file):
    old = store.put(ANA, "h1:" + "c" * 64, "image", "image/jpeg", PHOTO)
    erased = store.put(BEN, "h1:" + "d" * 64, "image", "image/jpeg", PHOTO)
    keys.destroy(ANA)
    keys.destroy(BEN)
    newer = store.put(ANA, "h1:" + "e" * 64, "image", "image/jpeg", PHOTO)  # Ana writes again
    assert {r.handle: r.key_generation for r in _rows(engine)} == {
        old.handle: 1,
        erased.handle: 1,
        newer.handle: 2,
    }
    report = complete_erasure(key_file, engine)
    assert report.media_deleted == 2
    assert [r.handle for r in _rows(engine)] == [newer.handle]
    assert delete_unreadable_media(engine) == 0
    assert store.read(ANA, newer.handle) == PHOTO


def test_the_recorder_audits_hashes_and_sizes_never_ids_or_bytes(engine, store) -> None:
    entries: list[tuple] = []

    def record(kind: str, subject: str, **attributes: object) -> int:
        entries.append((kind, subject, attributes))
        return len(entries)

    recorder = MediaRecorder(store, lambda purpose, value: f"h1:{purpose}:{len(value)}", record)
    stored = recorder.store(ANA, "1234567890123456", "image", "image/jpeg", PHOTO)
    recorder.failed(ANA, "6543210987654321", "audio", "too_large")
    assert entries == [
        (
            "media_download",
            ANA,
            {
                "outcome": "stored",
                "media_id_hash": "h1:media_id:16",
                "media_kind": "image",
                "size_bytes": stored.size_bytes,
            },
        ),
        (
            "media_download",
            ANA,
            {
                "outcome": "unavailable",
                "reason": "too_large",
                "media_id_hash": "h1:media_id:16",
                "media_kind": "audio",
            },
        ),
    ]
