"""The webhook's POST pipeline against the real compliance gate on SQLite: what each kind of
request is answered, what gets recorded, and that a database outage answers 503 and records
nothing (so that Meta redelivers)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from compliance.context import build_context
from compliance.gate import ComplianceGate
from compliance.keys import write_new_keyfile
from compliance.storage import create_engine_from_url
from connectors.whatsapp.config import WhatsAppConfig
from connectors.whatsapp.inbox import Inbox
from connectors.whatsapp.simulator.webhooks import sign
from connectors.whatsapp.webhook_receiver import WebhookReceiver

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "whatsapp"
SECRET = "receiver-test-secret"
REPO = Path(__file__).resolve().parents[3]


def fixture(name: str) -> bytes:
    folder = "webhooks-sigillo" if "__sigillo__" in name else "webhooks"
    return (FIXTURES / folder / name).read_bytes()


@pytest.fixture
def context(tmp_path: Path):  # type: ignore[no-untyped-def]
    write_new_keyfile(tmp_path / "keys.json")
    env = {
        "SIGILLO_KEY_FILE": str(tmp_path / "keys.json"),
        "SIGILLO_DATABASE_URL": f"sqlite:///{tmp_path / 'sigillo.db'}",
        "SIGILLO_COMPLIANCE_FILE": str(REPO / "bot" / "compliance.yml"),
    }
    context = build_context(env, component="channel")
    yield context
    context.audit.close()


def receiver_for(context, max_body_bytes: int = 3 * 1024 * 1024) -> WebhookReceiver:  # type: ignore[no-untyped-def]
    config = WhatsAppConfig.from_credentials(
        {
            "app_secret": SECRET,
            "verify_token": "verify",
            "access_token": "token",
            "phone_number_id": "106540352242922",
            "max_body_bytes": max_body_bytes,
        },
        {},
    )
    gate = ComplianceGate(context)
    return WebhookReceiver(config, gate, Inbox(context.engine, gate))


def inbox_rows(context) -> int:  # type: ignore[no-untyped-def]
    with context.engine.connect() as conn:
        return conn.execute(sa.text("SELECT count(*) FROM wa_inbox")).scalar_one()


CASES = [
    # label, raw body, signature ("valid" | "bad" | None), status, new inbox rows
    ("text message", fixture("msg-text__sigillo__phone-and-bsuid.json"), "valid", 200, 1),
    (
        "duplicate in one body",
        fixture("batch__sigillo__duplicate-message-in-body.json"),
        "valid",
        200,
        1,
    ),
    ("status only", fixture("status-failed-131047__sigillo__outside-window.json"), "valid", 200, 0),
    (
        "other field",
        fixture("otherfield-user_preferences__sigillo__marketing-stop.json"),
        "valid",
        200,
        0,
    ),
    ("no signature", fixture("msg-text__sigillo__phone-and-bsuid.json"), None, 401, 0),
    ("wrong signature", fixture("msg-text__sigillo__phone-and-bsuid.json"), "bad", 403, 0),
    ("malformed JSON", b'{"object": "whatsapp_business_account", "entry": [', "valid", 400, 0),
    (
        "not a WABA body",
        fixture("negative-envelope__sigillo__object-not-waba.json"),
        "valid",
        400,
        0,
    ),
]


@pytest.mark.parametrize(
    "raw, signature, status, rows", [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_each_request_gets_its_answer(context, raw, signature, status, rows) -> None:
    header = {"valid": sign(SECRET, raw), "bad": sign("another-secret", raw), None: None}[signature]
    outcome = receiver_for(context).receive(raw, header)
    assert outcome.status == status, outcome.reason
    assert inbox_rows(context) == rows


def test_a_redelivered_body_is_acknowledged_and_recorded_once(context) -> None:
    raw = fixture("msg-text__sigillo__phone-and-bsuid.json")
    receiver = receiver_for(context)
    first = receiver.receive(raw, sign(SECRET, raw))
    again = receiver.receive(raw, sign(SECRET, raw))
    assert (first.status, len(first.accepted)) == (200, 1)
    assert (again.status, len(again.accepted)) == (200, 0)
    assert inbox_rows(context) == 1


def test_an_oversized_body_is_refused_before_anything_else(context) -> None:
    raw = b" " * 1025 + fixture("msg-text__sigillo__phone-and-bsuid.json")
    outcome = receiver_for(context, max_body_bytes=1024).receive(raw, None)
    assert outcome.status == 413 and inbox_rows(context) == 0


def test_the_database_down_answers_503_and_records_nothing(context, tmp_path: Path) -> None:
    raw = fixture("msg-text__sigillo__phone-and-bsuid.json")
    receiver = receiver_for(context)
    context.engine.dispose()
    # Point every query at a database file that cannot be opened.
    broken = create_engine_from_url(f"sqlite:///{tmp_path / 'missing' / 'x.db'}")
    context.vault._engine = broken  # type: ignore[attr-defined]
    outcome = receiver.receive(raw, sign(SECRET, raw))
    assert outcome.status == 503
    assert inbox_rows(context) == 0


def test_phone_and_bsuid_of_one_person_are_one_conversation(context) -> None:
    receiver = receiver_for(context)
    both = fixture("msg-text__sigillo__phone-and-bsuid.json")
    (first,) = receiver.receive(both, sign(SECRET, both)).accepted
    body = json.loads(both)
    message = body["entry"][0]["changes"][0]["value"]["messages"][0]
    del message["from"]  # the same person later writes with the BSUID only
    del body["entry"][0]["changes"][0]["value"]["contacts"][0]["wa_id"]
    message["id"] = "wamid.SIGILLOBSUIDONLY"
    raw = json.dumps(body).encode()
    (second,) = receiver.receive(raw, sign(SECRET, raw)).accepted
    assert second.subject == first.subject


def test_a_number_change_keeps_the_conversation(context) -> None:
    from connectors.whatsapp.simulator import webhooks as wh

    business = wh.Business("102290129340398", "106540352242922", "15550783881")
    old, new = "393331111111", "393332222222"
    receiver = receiver_for(context)

    def post(body: dict) -> str:
        raw = wh.serialize(body)
        (recorded,) = receiver.receive(raw, sign(SECRET, raw)).accepted
        return recorded.subject

    before = post(wh.inbound(business, wh.WhatsAppUser(wa_id=old), "wamid.A1", 1, wh.text("hi")))
    changed = post(
        wh.system_message(
            business, wh.WhatsAppUser(wa_id=old), "wamid.A2", 2, wh.number_change(old, new)
        )
    )
    after = post(wh.inbound(business, wh.WhatsAppUser(wa_id=new), "wamid.A3", 3, wh.text("hi")))
    assert before == changed == after
    assert context.vault.resolve(after) == ("phone", "+" + new)  # replies go to the new number
