"""Contract tests: every webhook fixture against its row in tests/fixtures/whatsapp/expected.yml."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml

from connectors.whatsapp import limits
from connectors.whatsapp.inbound_mapping import to_rasa_input
from connectors.whatsapp.sender_identity import subject_identifier
from connectors.whatsapp.webhook_models import (
    NESTED_EDIT,
    Edit,
    FlowReply,
    MessageType,
    StatusKind,
    Text,
    Unsupported,
)
from connectors.whatsapp.webhook_parser import WebhookFormatError, parse_webhook

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "whatsapp"
SIG = "webhooks-sigillo/"
CASES = yaml.safe_load((FIXTURES / "expected.yml").read_text(encoding="utf-8"))["cases"]


def load(rel: str):
    return json.loads((FIXTURES / rel).read_text(encoding="utf-8"))


def test_every_webhook_fixture_has_exactly_one_row():
    on_disk = {
        str(p.relative_to(FIXTURES))
        for folder in ("webhooks", "webhooks-sigillo")
        for p in (FIXTURES / folder).glob("*.json")
    }
    in_table = [case["fixture"] for case in CASES]
    assert len(in_table) == len(set(in_table))
    assert set(in_table) == on_disk
    assert len([f for f in on_disk if f.startswith("webhooks/")]) == 80


@pytest.mark.parametrize("case", CASES, ids=[Path(c["fixture"]).stem for c in CASES])
def test_fixture_contract(case):
    body = load(case["fixture"])
    if "raises" in case:
        with pytest.raises(WebhookFormatError) as info:
            parse_webhook(body)
        assert info.value.reason == case["raises"]
        return
    parsed = parse_webhook(body)
    counts = {k: len(getattr(parsed, k)) for k in case["counts"]}
    assert counts == case["counts"]

    for msg, want in zip(parsed.messages, case.get("messages", []), strict=True):
        rasa = to_rasa_input(msg, case.get("numbered_choices"))
        got = {
            "id": msg.message_id,
            "type": msg.type.value,
            "content": type(msg.content).__name__,
            "subject": subject_identifier(msg.sender).kind.value,
            "rasa_text": rasa.text,
            "message_type": rasa.metadata["message_type"],
            "country_code": rasa.metadata["country_code"],
        }
        if isinstance(msg.content, Unsupported):
            got["reason"] = msg.content.reason
            if msg.content.error_code:
                got["error_code"] = msg.content.error_code
        assert got == want
        assert isinstance(msg.timestamp, int)

    for status, want in zip(parsed.statuses, case.get("statuses", []), strict=True):
        got = {"id": status.message_id, "status": status.status.value,
               "error_codes": list(status.error_codes)}
        if status.pricing_category:
            got["pricing_category"] = status.pricing_category
        assert got == want
    prefs = [{"value": p.value.value, "category": p.category} for p in parsed.preferences]
    assert prefs == case.get("preferences", [])
    assert [i.field_name for i in parsed.ignored] == case.get("ignored_fields", [])
    assert [e.code for e in parsed.errors] == case.get("error_codes", [])
    assert [[i.reason, i.where] for i in parsed.issues] == case.get("issues", [])


@pytest.mark.parametrize("case", CASES, ids=[Path(c["fixture"]).stem for c in CASES])
def test_reprs_hide_personal_data(case):
    """Parsed objects may be logged: no phone, BSUID, name, text or message id in any repr."""
    body = load(case["fixture"])
    if "raises" in case:
        return
    parsed = parse_webhook(body)
    shown = repr(parsed) + "".join(repr(to_rasa_input(m)) for m in parsed.messages)
    secrets = {"16505551234", "+16505551234", "16315551234", "393331234567", "Sheena", "wamid.",
               "US.1349", "IT.9988", "Taj Mahal", "another color", "my receipt", "Philz",
               "Lucía", "Barbara", "turn-42", "ctwa", "Aff-n8Z", "/consent", "ciao"}
    assert not [s for s in secrets if s in shown]


def _text_body(n: int) -> dict:
    messages = [
        {"from": "16505551234", "id": f"wamid.N{i}", "timestamp": "1750000000", "type": "text",
         "text": {"body": "x"}}
        for i in range(n)
    ]
    return {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [
        {"field": "messages", "value": {"metadata": {"phone_number_id": "1"}, "messages": messages}}
    ]}]}


def test_batch_at_the_limit_is_parsed():
    assert len(parse_webhook(_text_body(limits.WEBHOOK_BATCH_MAX)).messages) == 1000


def test_batch_over_the_limit_is_a_format_error():
    with pytest.raises(WebhookFormatError, match="more than 1000 updates"):
        parse_webhook(_text_body(limits.WEBHOOK_BATCH_MAX + 1))


def test_format_error_never_echoes_the_body():
    with pytest.raises(WebhookFormatError) as info:
        parse_webhook({"object": "16505551234 secret text", "entry": []})
    assert "16505551234" not in str(info.value)


def test_flow_response_json_is_parsed():
    parsed = parse_webhook(load(SIG + "msg-interactive-nfm_reply__sigillo__flow-completed.json"))
    content = parsed.messages[0].content
    assert isinstance(content, FlowReply)
    assert content.response == {"flow_token": "t-1", "size": "M", "qty": 2}
    assert content.name == "flow"


def test_nested_edit_degrades_inner_content():
    parsed = parse_webhook(load("webhooks-sigillo/msg-edit__sigillo__negative-nested-edit.json"))
    content = parsed.messages[0].content
    assert isinstance(content, Edit) and content.original_message_id == "wamid.ORIG"
    assert content.content == Unsupported(NESTED_EDIT, original_type="edit")


def test_edit_content_is_parsed_recursively():
    parsed = parse_webhook(load("webhooks-sigillo/msg-edit__sigillo__edit-text.json"))
    assert parsed.messages[0].content.content == Text("fixed typo")


def test_int_timestamps_are_accepted():
    parsed = parse_webhook(load("webhooks/msg-button__netflie__button-notification.json"))
    assert parsed.messages[0].timestamp == 1669233778


def test_netflie_placeholders_parse_once_the_sender_is_valid():
    """The content side of netflie's bodies works; only their placeholder senders are refused."""
    body = load("webhooks/msg-interactive-nfm_reply__netflie__flow-notification.json")
    body = copy.deepcopy(body)
    body["entry"][0]["changes"][0]["value"]["messages"][0]["from"] = "16505551234"
    body["entry"][0]["changes"][0]["value"]["contacts"][0]["wa_id"] = "16505551234"
    msg = parse_webhook(body).messages[0]
    assert msg.type is MessageType.INTERACTIVE
    assert msg.content.response["screen_0_name_0"] == "Email"


def test_status_details_are_kept():
    parsed = parse_webhook(load(SIG + "status-failed-131047__sigillo__outside-window.json"))
    status = parsed.statuses[0]
    assert status.status is StatusKind.FAILED
    assert status.errors[0].title == "Re-engagement message"
    assert status.errors[0].details.startswith("Message failed")
    assert status.biz_opaque_callback_data == "turn-42"
    assert status.recipient_phone == "+16505551234"


def test_group_status_has_no_recipient_phone():
    parsed = parse_webhook(load("webhooks-sigillo/status-delivered__sigillo__group-recipient.json"))
    assert parsed.statuses[0].recipient_phone is None
    assert parsed.statuses[0].recipient_type == "group"


def test_bsuid_status_without_recipient_id():
    parsed = parse_webhook(
        load("webhooks/status-delivered__metadocs__business-scoped-user-ids-md-block23.json")
    )
    assert parsed.statuses[0].recipient_phone is None
    assert parsed.statuses[0].recipient_user_id == "US.13491208655302741918"


def test_sender_fields_from_message_and_contact():
    parsed = parse_webhook(load("webhooks-sigillo/msg-text__sigillo__phone-and-bsuid.json"))
    sender = parsed.messages[0].sender
    assert (sender.phone, sender.user_id) == ("+16505551234", "IT.99887766554433")
    assert (sender.profile_name, sender.username) == ("Ada", "@ada")


def test_bsuid_message_field_wins_over_contact_typo():
    parsed = parse_webhook(
        load("webhooks/msg-text__metadocs__business-scoped-user-ids-md-block25.json")
    )
    sender = parsed.messages[0].sender
    assert sender.phone is None
    assert sender.user_id == "US.13491208655302741918"
    assert sender.parent_user_id == "US.11815799212886844830"


def test_parse_is_pure_and_deterministic():
    body = load("webhooks-sigillo/batch__sigillo__two-entries-mixed.json")
    before = copy.deepcopy(body)
    assert parse_webhook(body) == parse_webhook(body)
    assert body == before


def _msg(body: dict) -> dict:
    return body["entry"][0]["changes"][0]["value"]["messages"][0]


@pytest.mark.parametrize(
    "mutation",
    [
        lambda b: b["entry"][0].__setitem__("changes", "x"),
        lambda b: b["entry"][0]["changes"].append(None),
        lambda b: b["entry"][0]["changes"][0].__setitem__("value", []),
        lambda b: _msg(b).__setitem__("type", 5),
        lambda b: _msg(b).__setitem__("text", "s"),
        lambda b: _msg(b).__setitem__("id", "a" * 600),
        lambda b: _msg(b).__setitem__("timestamp", True),
        lambda b: b["entry"][0]["changes"][0]["value"].__setitem__("contacts", "x"),
        lambda b: b["entry"][0]["changes"][0]["value"].__setitem__("metadata", None),
        lambda b: b["entry"][0]["changes"][0]["value"].__setitem__("statuses", [{"id": 1}]),
        lambda b: b["entry"][0]["changes"][0].__setitem__("field", None),
    ],
    ids=["changes-not-list", "change-null", "value-list", "type-int", "text-str", "id-too-long",
         "timestamp-bool", "contacts-str", "metadata-null", "status-id-int", "field-null"],
)
def test_mutations_never_crash(mutation):
    body = copy.deepcopy(load("webhooks/msg-text__meta-openapi__text-message.json"))
    mutation(body)
    parsed = parse_webhook(body)
    assert len(parsed.messages) + len(parsed.issues) >= 1
