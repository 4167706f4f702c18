"""Entries: canonical serialization pinned, fast leaf path equal to it, personal data refused."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from compliance.audit.entries import AuditEntry, NewEntry, format_time, keyed_hash, leaf_data
from compliance.audit.errors import PersonalDataRejected

PSEUDONYM = "p1:" + "ab12" * 16
WHEN = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=timezone.utc)


def test_canonical_bytes_known_answer() -> None:
    entry = AuditEntry(7, WHEN, "channel", "inbound_message", PSEUDONYM,
                       {"type": "text", "b": True, "a": 131047})
    assert entry.canonical_bytes() == (
        '{"attributes":{"a":131047,"b":true,"type":"text"},"component":"channel",'
        '"kind":"inbound_message","seq":7,"subject":"' + PSEUDONYM + '",'
        '"time":"2024-05-06T07:08:09.123456Z","v":1}'
    ).encode()


def test_keyed_hash_known_answer() -> None:
    # python -c "import hmac,hashlib; print(hmac.new(bytes(32),
    #   b'sigillo/audit/keyed-hash/v1\x00wamid.X', hashlib.sha256).hexdigest())"
    import hashlib
    import hmac

    expected = hmac.new(bytes(32), b"sigillo/audit/keyed-hash/v1\x00wamid.X",
                        hashlib.sha256).hexdigest()
    assert keyed_hash(bytes(32), "wamid.X") == "h1:" + expected
    assert keyed_hash(bytes(32), b"wamid.X") == keyed_hash(bytes(32), "wamid.X")
    assert keyed_hash(b"k" * 32, "wamid.X") != keyed_hash(bytes(32), "wamid.X")


names = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True)
values = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6),
                   st.from_regex(r"[a-zA-Zàé_\-]{0,12}", fullmatch=True))


@given(st.integers(0, 10**9), names, names, st.dictionaries(names, values, max_size=6))
def test_fast_leaf_data_equals_canonical_bytes(seq, component, kind, attributes) -> None:  # type: ignore[no-untyped-def]
    entry = AuditEntry(seq, WHEN, component, kind, None, attributes)
    assert leaf_data(seq, format_time(WHEN), component, kind, None,
                     entry.attributes_json()) == entry.canonical_bytes()


@pytest.mark.parametrize("attributes", [
    {"to": "+39 347 123 4567"},
    {"to": "+393471234567"},
    {"wa_id": "393471234567"},
    {"note": "call me at 347-123-4567"},
    {"phone": 393471234567},
    {"text": "hello there, I would like to order a pizza please"},
    {"text": "x" * 81},
    {"nested": {"a": 1}},
    {"ratio": 0.5},
    {"Bad Key": "x"},
], ids=["e164-spaced", "e164", "wa-id-digits", "dashed-phone-in-text", "int-phone",
        "free-text", "long-string", "nested", "float", "bad-key"])
def test_personal_or_unsafe_attributes_are_rejected(attributes: dict) -> None:
    with pytest.raises(PersonalDataRejected) as caught:
        NewEntry("channel", "inbound_message", PSEUDONYM, attributes)
    assert "347" not in str(caught.value) and "pizza" not in str(caught.value)


def test_labels_that_passed_are_remembered_and_nothing_rejected_is() -> None:
    from compliance.audit import entries

    for _ in range(2):  # the second time from the memo of labels that passed
        NewEntry("rasa", "bot_action", PSEUDONYM, {"action": "utter_greet"})
        with pytest.raises(PersonalDataRejected):
            NewEntry("channel", "inbound_message", PSEUDONYM, {"to": "+393471234567"})
    assert "utter_greet" in entries._LABELS_SEEN  # noqa: SLF001 - the module's own memo
    assert not any("347" in label for label in entries._LABELS_SEEN)  # noqa: SLF001
    for n in range(entries._MAX_LABELS_SEEN + 10):  # noqa: SLF001
        NewEntry("rasa", "bot_action", PSEUDONYM, {"action": f"utter_x{n}"})
    assert len(entries._LABELS_SEEN) <= entries._MAX_LABELS_SEEN  # noqa: SLF001


@pytest.mark.parametrize("subject", ["+393471234567", "393471234567", "US.13491208655302741918",
                                     "Mario Rossi", "p1:short"])
def test_identifiers_are_not_subjects(subject: str) -> None:
    with pytest.raises(PersonalDataRejected):
        NewEntry("channel", "inbound_message", subject, {})


def test_allowed_attributes() -> None:
    entry = NewEntry("channel", "delivery_status", PSEUDONYM, {
        "status": "failed", "error_code": 131047, "message_type": "text",
        "message_id": keyed_hash(bytes(32), "wamid.HBgLMzkzNDcxMjM0NTY3"),
        "purpose": "marketing", "deleted_count": 123456789, "retry": False,
        "title": "Re-engagement message",
    })
    assert entry.attributes["error_code"] == 131047


def test_coerce_rejects_unknown_fields() -> None:
    with pytest.raises(PersonalDataRejected):
        NewEntry.coerce({"component": "cli", "kind": "erasure", "text": "hi"})
    assert NewEntry.coerce({"component": "cli", "kind": "erasure"}).subject is None


def test_time_must_be_aware() -> None:
    with pytest.raises(PersonalDataRejected):
        format_time(datetime(2024, 1, 1))


@pytest.mark.parametrize(
    "value",
    ["2024-01-01T00:00:00.123456Z", "", 'a"b', "a\\b", "x\ny", "tab\there", "\x7f", "é", "日本"],
)
def test_the_fast_json_string_is_json_dumps(value: str) -> None:
    from compliance.audit.entries import _json_string

    assert _json_string(value) == json.dumps(value, ensure_ascii=False)
