"""Inbound media end to end, with the channel's download_media on (tests/conftest.py): a user
sends a photo through the simulator; the turn downloads it with the bearer token, checks Meta's
sha256, stores it sealed under the subject's key (no plaintext byte in any file the stack
wrote), Rasa gets our handle (never Meta's id or URL), the export counts it, and erasure
deletes the row and leaves a copy taken before unreadable. A download that fails still lets
the message through, saying the media is unavailable."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Callable
from typing import TypeVar

import httpx
import pytest
import sqlalchemy as sa

from compliance.errors import SubjectErased
from compliance.identity import SubjectKeyStore
from compliance.media import MediaStore
from compliance.media.tables import inbound_media
from connectors.whatsapp.simulator.client import text_of

pytestmark = pytest.mark.e2e

MARKER = b"SIGILLO-E2E-PLAINTEXT-PHOTO-MARKER"
PHOTO = b"\x89PNG\r\n\x1a\n" + MARKER * 300
CAPTION = "where is my order A1234?"
T = TypeVar("T")


def _polled(read: Callable[[], T], ready: Callable[[T], bool], wait: float) -> T:
    """`read()` again every 0.2 s until `ready` says yes or `wait` seconds have passed."""
    deadline = time.monotonic() + wait
    while True:
        value = read()
        if ready(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def _rows(stack_context, subject: str, count: int = 1, wait: float = 20.0) -> list:
    def read() -> list:
        with stack_context.engine.connect() as conn:
            return conn.execute(
                sa.select(inbound_media).where(inbound_media.c.subject == subject)
            ).all()

    return _polled(read, lambda rows: len(rows) >= count, wait)


def _last_user_metadata(bot_stack, subject: str, wait: float = 20.0) -> tuple[dict, str]:
    """The metadata of the subject's last user message, as Rasa's tracker holds it. Waited
    for: the reply reaches the simulator while the turn goes on, and the tracker is saved
    when the turn ends."""

    def read() -> httpx.Response:
        answer = httpx.get(f"{bot_stack.rasa_url}/conversations/{subject}/tracker", timeout=30)
        answer.raise_for_status()
        return answer

    def users(answer: httpx.Response) -> list[dict]:
        return [e for e in answer.json()["events"] if e["event"] == "user"]

    answer = _polled(read, lambda answer: bool(users(answer)), wait)
    assert users(answer), "the tracker has no user message"
    return users(answer)[-1]["metadata"], answer.text


def _audit(stack_context, subject: str, kind: str) -> list[dict]:
    with stack_context.engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT attributes FROM audit_entries WHERE subject = :s AND kind = :k"),
            {"s": subject, "k": kind},
        ).scalars()
        return [json.loads(row) for row in rows]


def test_a_photo_is_stored_sealed_rasa_gets_a_handle_and_erasure_removes_it(
    bot_stack, simulator, converse, give_consent, stack_context
) -> None:
    user = "447700900600"
    subject = give_consent("+" + user)
    data = base64.b64encode(PHOTO).decode()
    (answer,) = converse(
        user, type="image", mime_type="image/png", data_base64=data, caption=CAPTION
    )
    assert "A1234" in text_of(answer)  # the caption went through the NLU as text
    (row,) = _rows(stack_context, subject)
    assert row.kind == "image" and row.mime_type == "image/png" and row.size_bytes == len(PHOTO)
    assert MediaStore(stack_context.engine, stack_context.keys).read(subject, row.handle) == PHOTO

    # Sealed at rest: the bytes appear in no file the stack wrote (database, WAL, logs).
    with stack_context.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
    written = [p for p in bot_stack.config.workdir.rglob("*") if p.is_file()]
    assert any(p.name.startswith("sigillo.db") for p in written)
    for path in written:
        if path.name != "simulator.log":  # the simulator plays Meta, which has the photo
            assert MARKER not in path.read_bytes(), f"photo bytes in clear in {path.name}"

    # Rasa got our opaque handle, the type and the size; not Meta's id, URL or the bytes.
    metadata, raw_tracker = _last_user_metadata(bot_stack, subject)
    assert metadata["media_status"] == "stored" and metadata["media_handle"] == row.handle
    assert metadata["media_size"] == len(PHOTO) and metadata["mime_type"] == "image/png"
    assert "media_id" not in metadata and "/media/" not in raw_tracker
    assert MARKER.decode() not in raw_tracker

    (audit,) = _audit(stack_context, subject, "media_download")
    assert audit["outcome"] == "stored" and audit["size_bytes"] == len(PHOTO)
    assert audit["media_id_hash"].startswith("h1:")

    summary, _document = converse(user, count=2, text="what data do you have on me?")
    assert "Media files: 1" in text_of(summary)

    with stack_context.engine.connect() as conn:  # what a backup taken now would hold
        backup = bytes(
            conn.execute(
                sa.select(inbound_media.c.sealed).where(inbound_media.c.handle == row.handle)
            ).scalar_one()
        )
    (question,) = converse(user, text="delete my data")
    buttons = question["body"]["interactive"]["action"]["buttons"]
    (deleted,) = converse(user, button_reply=buttons[0]["reply"])
    assert "Your data has been deleted" in text_of(deleted)
    assert _rows(stack_context, subject, count=0) == []
    (erasure,) = _audit(stack_context, subject, "erasure")
    assert erasure["media_deleted_count"] == 1
    fresh = SubjectKeyStore(stack_context.engine, stack_context.keyring, cache_size=0)
    with pytest.raises(SubjectErased):
        fresh.open_for(subject, f"inbound_media:{row.handle}", backup)


def test_a_failed_download_still_lets_the_message_through(
    bot_stack, simulator, converse, give_consent, stack_context
) -> None:
    user = "447700900601"
    subject = give_consent("+" + user)
    digest = base64.b64encode(hashlib.sha256(b"gone").digest()).decode()
    missing = {
        "type": "image",
        "image": {
            "id": "4242424242424242",
            "mime_type": "image/jpeg",
            "sha256": digest,
            "caption": CAPTION,
        },
    }
    (answer,) = converse(user, message=missing)  # Meta no longer has this media id
    assert "A1234" in text_of(answer)
    metadata, _ = _last_user_metadata(bot_stack, subject)
    assert metadata["media_status"] == "unavailable"
    assert metadata["media_unavailable_reason"] == "not_found"
    assert "media_id" not in metadata and "media_handle" not in metadata
    assert _rows(stack_context, subject, count=0, wait=0) == []
    (audit,) = _audit(stack_context, subject, "media_download")
    assert audit == {
        "outcome": "unavailable",
        "reason": "not_found",
        "media_id_hash": audit["media_id_hash"],
        "media_kind": "image",
    }
    rasa_log = (bot_stack.config.workdir / "rasa.log").read_text()
    assert "whatsapp.media.unavailable kind=image reason=not_found" in rasa_log
    assert "4242424242424242" not in rasa_log
