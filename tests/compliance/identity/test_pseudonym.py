"""Pseudonyms: known answers, fixed length, stability and distinctness."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from compliance.identity import PSEUDONYM_LEN, is_pseudonym, pseudonymize

KEY = bytes(range(32))

# Reproduce with the standard library only:
#   d = hmac.new(bytes(range(32)), b"sigillo/pseudonym/v1\x00" + ident.encode(),
#                hashlib.sha256).digest()[:20]
#   "wa_" + base64.b32encode(d).decode().lower()
KNOWN = [
    ("phone", "+393331234567", "wa_pfjewub5g4fxcffpdu7j5cedygior2og"),
    ("bsuid", "US.13491208655302741918", "wa_z3yalhdn75zrwa4jglu3lkz5k2mfrwbf"),
]


@pytest.mark.parametrize("identifier,want", [c[1:] for c in KNOWN], ids=[c[0] for c in KNOWN])
def test_known_answer(identifier: str, want: str) -> None:
    assert pseudonymize(identifier, KEY) == want


def test_depends_on_key() -> None:
    assert pseudonymize("+393331234567", bytes(32)) != pseudonymize("+393331234567", KEY)


def test_rejects_short_key() -> None:
    with pytest.raises(ValueError):
        pseudonymize("+393331234567", bytes(16))


@given(st.text(min_size=1, max_size=40))
def test_fixed_length_prefixed_stable(identifier: str) -> None:
    first = pseudonymize(identifier, KEY)
    assert first == pseudonymize(identifier, KEY)
    assert len(first) == PSEUDONYM_LEN == 35 and is_pseudonym(first)


def test_distinct_over_many_numbers() -> None:
    numbers = [f"+39333{n:07d}" for n in range(5000)]
    assert len({pseudonymize(n, KEY) for n in numbers}) == len(numbers)


def test_is_pseudonym() -> None:
    assert not is_pseudonym("+393331234567") and not is_pseudonym("wa_short")
