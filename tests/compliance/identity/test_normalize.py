"""Identifier normalization: one spelling per person, errors that name the field only."""

from __future__ import annotations

import pytest

from compliance.errors import ConfigError
from compliance.identity import normalize_identifier

VALID = [
    ("e164", "phone", "+393331234567", "+393331234567"),
    ("wa_id_without_plus", "phone", "393331234567", "+393331234567"),
    ("spaces_and_dashes", "phone", "+39 333-123 4567", "+393331234567"),
    ("leading_00", "phone", "0039 333 1234567", "+393331234567"),
    ("parentheses_dots", "phone", "+1 (555) 123.4567", "+15551234567"),
    ("shortest_niue", "phone", "+6831234", "+6831234"),
    ("longest_15", "phone", "+123456789012345", "+123456789012345"),
    ("bsuid", "bsuid", "US.13491208655302741918", "US.13491208655302741918"),
    ("bsuid_mixed_case_kept", "bsuid", " IT.AbC123 ", "IT.AbC123"),
]

INVALID = [
    ("too_short", "phone", "+123456", "identifier.phone"),
    ("too_long", "phone", "+1234567890123456", "identifier.phone"),
    ("leading_zero", "phone", "+0393331234567", "identifier.phone"),
    ("letters", "phone", "+39333ABC4567", "identifier.phone"),
    ("empty_phone", "phone", "", "identifier.phone"),
    ("non_ascii_digits", "phone", "+٣٩٣٣٣١٢٣٤٥٦٧", "identifier.phone"),
    ("not_string", "phone", 393331234567, "identifier.phone"),
    ("bsuid_lower_country", "bsuid", "us.1349", "identifier.bsuid"),
    ("bsuid_no_dot", "bsuid", "US1349", "identifier.bsuid"),
    ("bsuid_symbol", "bsuid", "US.13-49", "identifier.bsuid"),
    ("bsuid_too_long", "bsuid", "US." + "1" * 129, "identifier.bsuid"),
    ("unknown_kind", "email", "a@b.c", "identifier.kind"),
]


@pytest.mark.parametrize("kind,value,want", [c[1:] for c in VALID], ids=[c[0] for c in VALID])
def test_valid(kind: str, value: str, want: str) -> None:
    assert normalize_identifier(kind, value) == want


@pytest.mark.parametrize("kind,value,field", [c[1:] for c in INVALID],
                         ids=[c[0] for c in INVALID])
def test_invalid_names_field_not_value(kind: str, value: object, field: str) -> None:
    with pytest.raises(ConfigError) as info:
        normalize_identifier(kind, value)  # type: ignore[arg-type]
    assert field in str(info.value)
    if value:
        assert str(value) not in str(info.value)
