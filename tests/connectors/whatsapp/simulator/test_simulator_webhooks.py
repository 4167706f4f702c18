"""Webhook builders produce Meta's shapes (every key path and value type they emit appears in a
Meta or library fixture of that kind), and signatures are HMAC-SHA256 over the exact bytes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from connectors.whatsapp.simulator import webhooks as wh
from connectors.whatsapp.simulator.errors import meta_error

WEBHOOKS = Path(__file__).resolve().parents[3] / "fixtures" / "whatsapp" / "webhooks"
BIZ = wh.Business("102290129340398", "106540352242922", "15550783881")
PHONE = wh.WhatsAppUser(wa_id="16505551234", name="Sheena Nelson")
BSUID = wh.WhatsAppUser(user_id="US.13491208655302741918", name="Sheena Nelson")
BOTH = wh.WhatsAppUser(wa_id="16505551234", user_id="US.13491208655302741918", name="Sheena")
CTX = {"from": "15550783881", "id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI3MEM2RUJFNkI0RENGQTVDRjUA"}
WAMID = "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA="
TS = 1749416383


def fixture_candidates(name: str) -> Path:
    return WEBHOOKS / f"{name}.json"


def paths(node: object, prefix: str = "") -> set[tuple[str, str]]:
    """Every (key path, JSON type) in a body; list items share the path `[]`."""
    kind = {dict: "object", list: "array", str: "string", bool: "bool", int: "number",
            float: "number"}[type(node)]
    found = {(prefix, kind)}
    if isinstance(node, dict):
        for key, value in node.items():
            found |= paths(value, f"{prefix}.{key}")
    elif isinstance(node, list):
        for value in node:
            found |= paths(value, f"{prefix}[]")
    return found


def fixture_paths(*names: str) -> set[tuple[str, str]]:
    out: set[tuple[str, str]] = set()
    for name in names:
        out |= paths(json.loads(fixture_candidates(name).read_text()))
    return out


def msg(content: dict, user: wh.WhatsAppUser = PHONE, context: dict | None = None) -> dict:
    return wh.inbound(BIZ, user, WAMID, TS, content, context)


SHA = "SfInY0gGKTsJlUWbwxC1k+FAD0FZHvzwfpvO0zX0GUI="
URL = "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1"
FAILED = wh.status(WAMID, "failed", TS, PHONE, meta_error(131047))

# (label, builder, fixtures whose key paths must cover the built body)
CASES: list[tuple[str, Callable[[], dict], tuple[str, ...]]] = [
    ("text_from_phone", lambda: msg(wh.text("Does it come in another color?")),
     ("msg-text__meta-openapi__text-message",)),
    ("text_from_bsuid_only", lambda: msg(wh.text("hi"), BSUID),
     ("msg-text__metadocs__business-scoped-user-ids-md-block25",)),
    ("text_from_phone_and_bsuid", lambda: msg(wh.text("hi"), BOTH),
     ("msg-text__netflie__keep-wa-id-priority-when-user-id-is-present",
      "msg-text__metadocs__business-scoped-user-ids-md-block25")),
    ("button_reply", lambda: msg(wh.button_reply("cancel-button", "Cancel"), context=CTX),
     ("msg-interactive-button_reply__meta-openapi__interactive-button-reply-message",)),
    ("list_reply", lambda: msg(wh.list_reply("priority_express", "Priority", "Next Day"),
                               context=CTX),
     ("msg-interactive-list_reply__meta-openapi__interactive-list-reply-message",)),
    ("template_quick_reply", lambda: msg(wh.template_button("Unsubscribe", "Unsubscribe"),
                                         context=CTX),
     ("msg-button__meta-openapi__button-message",)),
    ("image", lambda: msg(wh.media("image", "1003383421387256", SHA, caption="Taj", url=URL)),
     ("msg-image__metadocs__image-md-block1", "msg-image__meta-openapi__image-message")),
    ("voice_note", lambda: msg(wh.media("audio", "1908647269898587", SHA, url=URL, voice=True)),
     ("msg-audio__metadocs__audio-md-block1",)),
    ("document", lambda: msg(wh.media("document", "622684793477189", SHA, caption="receipt",
                                      filename="receipt.pdf", url=URL)),
     ("msg-document__metadocs__document-md-block1",)),
    ("sticker", lambda: msg(wh.media("sticker", "1908647269898587", SHA, url=URL,
                                     animated=True)),
     ("msg-sticker__metadocs__sticker-md-block1",)),
    ("video", lambda: msg(wh.media("video", "1", SHA, caption="clip", url=URL)),
     ("msg-video__metadocs__video-md-block1",)),
    ("location", lambda: msg(wh.location(37.44, -122.16, "Philz Coffee", "101 Forest Ave")),
     ("msg-location__meta-openapi__location-message",)),
    ("contacts", lambda: msg(wh.contacts([{
        "name": {"first_name": "Lucía", "formatted_name": "Lucía Gómez"},
        "phones": [{"phone": "+1 (983) 555-2319", "wa_id": "19835552319", "type": "MOBILE"}]}])),
     ("msg-contacts__meta-openapi__contact-sharing-message",)),
    ("reaction", lambda: msg(wh.reaction("wamid.HBgLM", "\U0001f44d")),
     ("msg-reaction__meta-openapi__reaction-message",)),
    ("system_number_change", lambda: wh.system_message(
        BIZ, PHONE, WAMID, TS, wh.number_change("16505551234", "12195555358", "Sheena Nelson")),
     ("msg-system__metadocs__system-md-block1",)),
    ("unsupported", lambda: msg(wh.unsupported("edit")),
     ("msg-unsupported__metadocs__unsupported-md-block1",)),
    ("status_sent", lambda: wh.statuses(BIZ, [wh.status(WAMID, "sent", TS, PHONE)]),
     ("status-sent__metadocs__status-md-block1",)),
    ("status_delivered_bsuid", lambda: wh.statuses(
        BIZ, [wh.status(WAMID, "delivered", TS, BSUID)], BSUID),
     ("status-delivered__metadocs__business-scoped-user-ids-md-block23",)),
    ("status_read", lambda: wh.statuses(BIZ, [wh.status(WAMID, "read", TS, PHONE)]),
     ("status-read__netflie__status-notification", "status-sent__metadocs__status-md-block1")),
    ("status_failed", lambda: wh.statuses(BIZ, [FAILED], PHONE),
     ("status-failed-131049__metadocs__status-md-block3",)),
    ("user_preferences_resume", lambda: wh.user_preferences(BIZ, PHONE, "resume", 1731705721),
     ("otherfield-user_preferences__metadocs__user-preferences-md-block1",)),
]


@pytest.mark.parametrize(("label", "build", "fixtures"), CASES, ids=[c[0] for c in CASES])
def test_shape_matches_meta_fixture(label: str, build: Callable[[], dict],
                                    fixtures: tuple[str, ...]) -> None:
    built = paths(build())
    extra = built - fixture_paths(*fixtures)
    assert not extra, f"{label}: keys or types Meta's fixtures do not have: {sorted(extra)}"


def test_bsuid_only_message_has_no_from() -> None:
    message = msg(wh.text("hi"), BSUID)["entry"][0]["changes"][0]["value"]["messages"][0]
    assert "from" not in message and message["from_user_id"] == BSUID.user_id


def test_failed_status_error_is_meta_shaped_and_has_no_contacts() -> None:
    body = wh.statuses(BIZ, [FAILED], BOTH)
    value = body["entry"][0]["changes"][0]["value"]
    assert "contacts" not in value  # §3: never on failed
    error = value["statuses"][0]["errors"][0]
    assert error["code"] == 131047 and error["title"] == error["message"] == "Re-engagement message"
    assert "24 hours" in error["error_data"]["details"]


def test_user_preferences_stop() -> None:
    body = wh.user_preferences(BIZ, PHONE, "stop", 1)
    change = body["entry"][0]["changes"][0]
    assert change["field"] == "user_preferences"
    assert change["value"]["user_preferences"][0]["value"] == "stop"
    with pytest.raises(ValueError):
        wh.user_preferences(BIZ, PHONE, "pause", 1)


# Reproduce: printf '<bytes>' | openssl dgst -sha256 -hmac test-app-secret
SIGNATURE_VECTORS = [
    ("ascii", b'{"object":"whatsapp_business_account","entry":[]}',
     "sha256=c84a394cc475525991e78ff16e430b02e47f953877d2af0ade26956ce6f384dc"),
    ("utf8_raw", '{"text":"caff\u00e8 \U0001f44d"}'.encode(),
     "sha256=1d6281f732e3a35875bb88e8baa7cb5c7031b233aada6d882ad97f6f48cac387"),
    ("utf8_escaped", b'{"text":"caff\\u00e8 \\ud83d\\udc4d"}',
     "sha256=7e17d084426df2b24ba76facfe45692133e93b659e528294315dd72ff0f8f754"),
]


@pytest.mark.parametrize(("label", "raw", "expected"), SIGNATURE_VECTORS,
                         ids=[v[0] for v in SIGNATURE_VECTORS])
def test_signature_vectors(label: str, raw: bytes, expected: str) -> None:
    assert wh.sign("test-app-secret", raw) == expected


def test_serialize_both_encodings_sign_their_own_bytes() -> None:
    body = {"text": "caff\u00e8 \U0001f44d"}
    escaped, utf8 = wh.serialize(body), wh.serialize(body, ensure_ascii=False)
    assert escaped == SIGNATURE_VECTORS[2][1] and utf8 == SIGNATURE_VECTORS[1][1]
    assert json.loads(escaped) == json.loads(utf8) == body
    assert wh.sign("test-app-secret", escaped) != wh.sign("test-app-secret", utf8)


def test_user_needs_an_identifier() -> None:
    with pytest.raises(ValueError):
        wh.WhatsAppUser()
