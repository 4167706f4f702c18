"""Sender identity: one subject per person, whether Meta sends a phone, a BSUID or both."""

from __future__ import annotations

import pytest

from connectors.whatsapp.sender_identity import (
    IdentifierKind,
    SubjectIdentifier,
    UnidentifiableSender,
    normalize_bsuid,
    normalize_phone,
    number_change,
    subject_identifier,
)
from connectors.whatsapp.webhook_models import (
    InboundMessage,
    MessageType,
    SenderRef,
    System,
    SystemKind,
    Text,
)

PHONE = "+16505551234"
BSUID = "US.13491208655302741918"
PHONE_ID = SubjectIdentifier(IdentifierKind.PHONE, PHONE)
BSUID_ID = SubjectIdentifier(IdentifierKind.BSUID, BSUID)


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        ("16505551234", PHONE), ("+16505551234", PHONE), (16505551234, PHONE),
        ("393331234567", "+393331234567"), ("1234567", "+1234567"),
        ("123456", None), ("1234567890123456", None), ("06505551234", None),
        ("PHONE_NUMBER", None), ("+1 650 555 1234", None), ("", None), (None, None),
        (True, None), ("١٦٥٠٥٥٥١٢٣٤", None),
    ],
)
def test_normalize_phone(raw, want):
    assert normalize_phone(raw) == want


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        (BSUID, BSUID), ("IT.abc123", "IT.abc123"), ("uUS.1349", None), ("BSUID_123", None),
        ("US.", None), ("us.123", None), ("US." + "a" * 129, None), (123, None), (None, None),
    ],
)
def test_normalize_bsuid(raw, want):
    assert normalize_bsuid(raw) == want


def test_phone_only():
    subject = subject_identifier(SenderRef(phone=PHONE))
    assert subject == PHONE_ID and subject.alias is None


def test_phone_and_bsuid_keys_on_phone_with_bsuid_alias():
    subject = subject_identifier(SenderRef(phone=PHONE, user_id=BSUID))
    assert subject == PHONE_ID
    assert subject.alias == BSUID_ID


def test_bsuid_only_without_link_keys_on_bsuid():
    subject = subject_identifier(SenderRef(user_id=BSUID))
    assert subject == BSUID_ID and subject.alias is None


def test_bsuid_only_with_known_link_keys_on_phone():
    links = {BSUID_ID: PHONE_ID}
    subject = subject_identifier(SenderRef(user_id=BSUID), known_phone=links.get)
    assert subject == PHONE_ID and subject.alias == BSUID_ID


def test_same_person_three_eras_one_subject():
    """Phone-only (2025), phone+BSUID (2026), BSUID-only after the link: one subject."""
    links: dict[SubjectIdentifier, SubjectIdentifier] = {}
    keys = []
    for sender in (SenderRef(phone=PHONE), SenderRef(phone=PHONE, user_id=BSUID),
                   SenderRef(user_id=BSUID)):
        subject = subject_identifier(sender, known_phone=links.get)
        if subject.kind is IdentifierKind.PHONE and subject.alias is not None:
            links[subject.alias] = SubjectIdentifier(subject.kind, subject.value)
        keys.append(subject)
    assert keys == [PHONE_ID, PHONE_ID, PHONE_ID]


def test_known_phone_must_return_a_phone():
    with pytest.raises(ValueError):
        subject_identifier(SenderRef(user_id=BSUID), known_phone=lambda _: BSUID_ID)


def test_no_identifier_raises_without_values():
    with pytest.raises(UnidentifiableSender) as info:
        subject_identifier(SenderRef(phone="junk", user_id="junk2"))
    assert "junk" not in str(info.value)


def test_equality_ignores_alias_and_repr_hides_value():
    with_alias = SubjectIdentifier(IdentifierKind.PHONE, PHONE, alias=BSUID_ID)
    assert with_alias == PHONE_ID and hash(with_alias) == hash(PHONE_ID)
    assert PHONE not in repr(with_alias) and BSUID not in repr(with_alias)


def _system(sender: SenderRef, kind: SystemKind, new_phone: str | None) -> InboundMessage:
    return InboundMessage(
        message_id="wamid.X", timestamp=1, phone_number_id="1", display_phone_number=None,
        sender=sender, type=MessageType.SYSTEM,
        content=System(kind=kind, new_phone=new_phone, body="changed"),
    )


def test_number_change_relinks_old_to_new():
    change = number_change(_system(SenderRef(phone=PHONE, user_id=BSUID),
                                   SystemKind.USER_CHANGED_NUMBER, "+12195555358"))
    assert change.old == PHONE_ID
    assert change.new == SubjectIdentifier(IdentifierKind.PHONE, "+12195555358")
    assert change.new.alias == BSUID_ID


@pytest.mark.parametrize(
    ("sender", "kind", "new"),
    [
        (SenderRef(phone=PHONE), SystemKind.CUSTOMER_IDENTITY_CHANGED, "+12195555358"),
        (SenderRef(phone=PHONE), SystemKind.USER_CHANGED_NUMBER, None),
        (SenderRef(phone=PHONE), SystemKind.USER_CHANGED_NUMBER, PHONE),
        (SenderRef(user_id=BSUID), SystemKind.USER_CHANGED_NUMBER, "+12195555358"),
    ],
    ids=["identity-changed", "no-new-number", "same-number", "no-old-number"],
)
def test_no_number_change(sender, kind, new):
    assert number_change(_system(sender, kind, new)) is None


def test_text_message_is_no_number_change():
    msg = InboundMessage(message_id="w", timestamp=1, phone_number_id="1",
                         display_phone_number=None, sender=SenderRef(phone=PHONE),
                         type=MessageType.TEXT, content=Text("hi"))
    assert number_change(msg) is None


def test_number_change_from_meta_fixture():
    import json
    from pathlib import Path

    from connectors.whatsapp.webhook_parser import parse_webhook

    path = (Path(__file__).resolve().parents[2] / "fixtures" / "whatsapp" / "webhooks"
            / "msg-system__metadocs__system-md-block1.json")
    msg = parse_webhook(json.loads(path.read_text())).messages[0]
    change = number_change(msg)
    assert (change.old.value, change.new.value) == ("+16505551234", "+12195555358")
