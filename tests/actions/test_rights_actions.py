"""The rights actions: the sealed export (no phone number in it, audited) and the confirmed
erasure (key shredded, conversation and exports deleted, ledger erased, audited), plus the
context's start-up errors."""

from __future__ import annotations

import base64
import json
import stat

import pytest
import sqlalchemy as sa

from actions.compliance_context import ComplianceContextError, build_context
from actions.consent import ActionConsentStep
from actions.rights import ActionDataErase, ActionDataExport, erase_pending
from compliance.audit.tables import audit_entries
from compliance.errors import SubjectErased

PHONE = "+39 333 123 4567"
DIGITS = "3331234567"
STEP, EXPORT, ERASE = ActionConsentStep(), ActionDataExport(), ActionDataErase()


@pytest.fixture
def person(ctx, chat):
    """A subject the channel admitted: the phone is in the vault, the chat sees the pseudonym."""
    chat.sender_id = ctx.vault.register("phone", PHONE)
    return chat


def audit_kinds(ctx, subject: str) -> list[str]:
    with ctx.ledger._engine.connect() as conn:
        rows = conn.execute(
            sa.select(audit_entries.c.kind).where(audit_entries.c.subject == subject)
        )
        return [r.kind for r in rows]


def confirmed(chat) -> None:
    chat.step("greet", STEP)
    chat.step("affirm", STEP)
    chat.step("affirm", STEP)


def test_export_is_sealed_private_and_has_no_phone_number(ctx, person) -> None:
    confirmed(person)
    person.say("ask_my_data", "what data do you have on me?")
    sent = person.run(EXPORT)
    summary, attachment = sent
    assert summary["response"] == "utter_data_export_summary"
    assert summary["consent_change_count"] == 4
    assert summary["message_count"] == 8  # 4 user messages, 4 bot messages
    assert "Messages: 8" in summary["data_summary"]
    ref = attachment["custom"]["sigillo_export"]
    path = ctx.data_dir / ref["file"]
    assert path.name.startswith(person.sender_id + "-")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    raw = path.read_text()
    sealed = json.loads(raw)
    token = base64.b64decode(sealed["token"])
    plain = ctx.subject_keys.open_for(person.sender_id, ref["field"], token).decode()
    document = json.loads(plain)
    for text in (raw, plain):
        assert DIGITS not in text.replace(" ", "") and "+39" not in text
    assert document["identity"]["kind"] == "phone"
    assert [h["event"] for h in document["consent"]["history"]][-1] == "confirmed"
    assert document["consent"]["current"] == {"service": "confirmed", "marketing": "none"}
    assert document["conversation"][-1]["text"] == "what data do you have on me?"
    assert "access_request" in audit_kinds(ctx, person.sender_id)


def test_export_prefers_the_full_history_of_the_tracker_store(ctx, person) -> None:
    class Store:
        async def retrieve_full_tracker(self, sender_id):
            class Full:
                events = [
                    {
                        "event": "user",
                        "text": "old session",
                        "timestamp": 1.0,
                        "metadata": {"region": "IT"},
                    }
                ]

            return Full()

    ctx.tracker_store = Store()
    person.say("ask_my_data")
    summary, _ = person.run(EXPORT)
    assert summary["message_count"] == 1 and summary["identity_kind"] == "bsuid"


def test_erasure_asks_first_and_deny_keeps_everything(ctx, person) -> None:
    confirmed(person)
    assert person.step("delete_my_data", ERASE) == ["utter_ask_delete_confirm"]
    assert person.step("deny", ERASE) == []
    assert not ctx.subject_keys.is_erased(person.sender_id)
    assert ctx.ledger.state(person.sender_id)["service"].value == "confirmed"
    person.step("delete_my_data", ERASE)
    person.say("deny")
    sent = person.run(ERASE, {"responses": {"utter_delete_cancelled": [{"text": "ok"}]}})
    assert [m["response"] for m in sent] == ["utter_delete_cancelled"]


def test_noise_the_nlu_calls_affirm_never_erases(ctx, person) -> None:
    confirmed(person)
    person.step("delete_my_data", ERASE)
    person.say("affirm", "??")
    assert [m["response"] for m in person.run(ERASE)] == ["utter_ask_delete_confirm"]
    assert not ctx.subject_keys.is_erased(person.sender_id)
    person.say("affirm", "/affirm")
    assert [m["response"] for m in person.run(ERASE)] == ["utter_data_deleted"]
    assert ctx.subject_keys.is_erased(person.sender_id)


def test_affirm_without_a_pending_question_only_asks(ctx, person) -> None:
    assert person.step("affirm", ERASE) == ["utter_ask_delete_confirm"]
    assert not ctx.subject_keys.is_erased(person.sender_id)


def test_erasure_shreds_the_key_and_marks_the_ledger(ctx, person) -> None:
    deleted: list[str] = []

    class Store:
        async def delete(self, sender_id: str) -> bool:
            deleted.append(sender_id)
            return True

    confirmed(person)
    person.step("ask_my_data", EXPORT)
    exports = list((ctx.data_dir / "exports").iterdir())
    assert len(exports) == 1
    ctx.tracker_store = Store()
    person.step("delete_my_data", ERASE)
    person.say("affirm", "/affirm")  # the "Yes, delete" button
    sent = person.run(ERASE)
    assert [m["response"] for m in sent] == ["utter_data_deleted"]
    assert [e["event"] for e in person.events[-3:-1]] == ["reset_slots", "restart"]
    subject = person.sender_id
    assert ctx.subject_keys.is_erased(subject)
    with pytest.raises(SubjectErased):
        ctx.subject_keys.get(subject)
    with pytest.raises(SubjectErased):
        ctx.vault.resolve(subject)  # the phone number is unreadable and its row is gone
    assert {s.value for s in ctx.ledger.state(subject).values()} == {"erased"}
    assert deleted == [subject]
    assert not exports[0].exists()
    assert audit_kinds(ctx, subject)[-1] == "erasure"


def test_erase_pending_reads_the_previous_turn() -> None:
    def user(intent):
        return {"event": "user", "parse_data": {"intent": {"name": intent}}}

    def action(name):
        return {"event": "action", "name": name}

    asked = [user("delete_my_data"), action("action_data_erase"), action("action_listen")]
    assert erase_pending([*asked, user("affirm")])
    assert not erase_pending([user("greet"), action("action_data_erase"), user("affirm")])
    assert not erase_pending([*asked[:1], action("utter_help"), user("affirm")])
    assert not erase_pending([user("affirm")])


def test_context_names_the_missing_key_file(env, tmp_path) -> None:
    env["SIGILLO_KEY_FILE"] = str(tmp_path / "missing.json")
    with pytest.raises(ComplianceContextError, match="SIGILLO_KEY_FILE"):
        build_context(env)


def test_context_names_the_bad_database_url(env, tmp_path) -> None:
    env["SIGILLO_DATABASE_URL"] = f"sqlite:///{tmp_path / 'no' / 'such' / 'dir' / 'x.db'}"
    with pytest.raises(ComplianceContextError, match="SIGILLO_DATABASE_URL") as info:
        build_context(env)
    assert "no/such" not in str(info.value)
