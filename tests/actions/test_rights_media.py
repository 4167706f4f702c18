"""The rights actions and the media a subject sent: the export lists them (metadata only, with a
count in the summary), the erasure deletes their rows and shreds their key."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa

from actions.consent import ActionConsentStep
from actions.rights import ActionDataErase, ActionDataExport, build_export, summary_fields
from compliance.errors import SubjectErased
from compliance.media.tables import inbound_media

PHONE = "+39 333 765 4321"
PHOTO = b"\xff\xd8\xffPLAINTEXT-PHOTO-IN-EXPORT-TEST" * 8
STEP, EXPORT, ERASE = ActionConsentStep(), ActionDataExport(), ActionDataErase()


@pytest.fixture
def person(ctx, chat):
    chat.sender_id = ctx.vault.register("phone", PHONE)
    for step in ("greet", "affirm", "affirm"):
        chat.step(step, STEP)
    return chat


def _export_document(ctx, person, attachment) -> dict:
    ref = attachment["custom"]["sigillo_export"]
    sealed = json.loads((ctx.data_dir / ref["file"]).read_text())
    token = base64.b64decode(sealed["token"])
    return json.loads(ctx.subject_keys.open_for(person.sender_id, ref["field"], token))


def test_the_export_lists_the_subjects_media_without_their_bytes(ctx, person) -> None:
    photo = ctx.media.put(person.sender_id, "h1:" + "1" * 64, "image", "image/jpeg", PHOTO)
    ctx.media.put(person.sender_id, "h1:" + "2" * 64, "audio", "audio/ogg", b"OggS...")
    ctx.media.put("wa_" + "z" * 43, "h1:" + "3" * 64, "image", "image/png", b"not hers")
    person.say("ask_my_data")
    summary, attachment = person.run(EXPORT)
    assert summary["media_count"] == 2 and "Media files: 2" in summary["data_summary"]
    document = _export_document(ctx, person, attachment)
    media = document["media"]
    assert media["count"] == 2
    assert [(m["handle"], m["kind"], m["size_bytes"]) for m in media["items"]][0] == (
        photo.handle,
        "image",
        len(PHOTO),
    )
    assert "PLAINTEXT-PHOTO" not in json.dumps(document)


def test_no_media_no_media_line() -> None:
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    document = build_export("wa_" + "a" * 43, now, {}, [], [], "phone")
    assert document["media"]["count"] == 0
    fields = summary_fields(document, "it")
    assert fields["media_count"] == 0 and "File multimediali" not in fields["data_summary"]
    document["media"]["count"] = 3
    assert "• File multimediali: 3" in summary_fields(document, "it")["data_summary"]


def test_erasure_deletes_the_media_rows_and_shreds_their_key(ctx, person) -> None:
    stored = ctx.media.put(person.sender_id, "h1:" + "4" * 64, "image", "image/jpeg", PHOTO)
    other = ctx.media.put("wa_" + "y" * 43, "h1:" + "5" * 64, "image", "image/png", b"kept")
    with ctx.ledger._engine.connect() as conn:  # what a backup taken before the erasure holds
        backup = conn.execute(
            sa.select(inbound_media.c.sealed).where(inbound_media.c.handle == stored.handle)
        ).scalar_one()
    person.step("delete_my_data", ERASE)
    person.say("affirm", "/affirm")  # the "Yes, delete" button
    assert [m["response"] for m in person.run(ERASE)] == ["utter_data_deleted"]
    with ctx.ledger._engine.connect() as conn:
        handles = list(conn.execute(sa.select(inbound_media.c.handle)).scalars())
        erasure = conn.execute(
            sa.text("SELECT attributes FROM audit_entries WHERE kind = 'erasure'")
        ).scalar_one()
    assert handles == [other.handle]
    assert json.loads(erasure)["media_deleted_count"] == 1
    with pytest.raises(SubjectErased):
        ctx.subject_keys.open_for(person.sender_id, f"inbound_media:{stored.handle}", bytes(backup))
