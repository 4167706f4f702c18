"""Keyword matching: whole message, case/accent/punctuation-insensitive (see keywords.py)."""

from __future__ import annotations

import pytest

from compliance.consent.keywords import KeywordMatch, classify, is_confirmation, normalize
from compliance.consent.settings import load_settings

SETTINGS = load_settings("bot/compliance.yml")

CASES = [
    ("plain upper", "STOP", KeywordMatch.OPT_OUT),
    ("title case", "Stop", KeywordMatch.OPT_OUT),
    ("exclamation", "STOP!", KeywordMatch.OPT_OUT),
    ("many marks", "stop!!!", KeywordMatch.OPT_OUT),
    ("accent and spaces", " stöp ", KeywordMatch.OPT_OUT),
    ("italian with period", "DISISCRIVIMI.", KeywordMatch.OPT_OUT),
    ("italian lower", "annulla", KeywordMatch.OPT_OUT),
    ("emoji around", "🛑 stop 🛑", KeywordMatch.OPT_OUT),
    ("two words", "stop all", KeywordMatch.OPT_OUT),
    ("collapsed spaces", "stop    tutto", KeywordMatch.OPT_OUT),
    ("hyphenated", "opt-out", KeywordMatch.OPT_OUT),
    ("cancellami accented", "Cancèllami!", KeywordMatch.OPT_OUT),
    ("start", "START", KeywordMatch.OPT_IN),
    ("iscrivimi", "iscrivimi", KeywordMatch.OPT_IN),
    ("riattiva dot", "Riattiva.", KeywordMatch.OPT_IN),
    ("marketing stop", "stop marketing", KeywordMatch.MARKETING_STOP),
    ("marketing stop accented", "STOP PUBBLICITÀ", KeywordMatch.MARKETING_STOP),
    # negatives: never a prefix/substring match
    ("sentence with stop", "stop the delivery of order A12", KeywordMatch.NONE),
    ("polite prefix", "please stop!!", KeywordMatch.NONE),
    ("word inside", "stopping", KeywordMatch.NONE),
    ("question", "can I cancel my order?", KeywordMatch.NONE),
    ("empty", "", KeywordMatch.NONE),
    ("only punctuation", "!!!", KeywordMatch.NONE),
    ("none", None, KeywordMatch.NONE),
    ("button payload", "/affirm", KeywordMatch.NONE),
    ("very long", "stop " * 100, KeywordMatch.NONE),
]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_classify(text: str | None, expected: KeywordMatch) -> None:
    assert classify(text, SETTINGS.keywords) is expected


CONFIRM_CASES = [
    ("yes", "YES", True),
    ("yes lower with mark", "yes!", True),
    ("confirm", "Confirm", True),
    ("si accented", "Sì", True),
    ("si plain", "si", True),
    ("si va bene", "sì, va bene", True),
    ("confermo", "confermo.", True),
    # negatives: whole message only, no noise
    ("question marks", "??", False),
    ("emoji", "👍", False),
    ("yes inside a sentence", "yes but what for?", False),
    ("yesterday", "yesterday", False),
    ("payload is not a word", "/affirm", False),
    ("opt-in is not a confirmation", "START", False),
    ("empty", "", False),
    ("none", None, False),
    ("very long", "yes " * 100, False),
]


@pytest.mark.parametrize(
    ("text", "expected"), [c[1:] for c in CONFIRM_CASES], ids=[c[0] for c in CONFIRM_CASES]
)
def test_is_confirmation(text: str | None, expected: bool) -> None:
    assert is_confirmation(text, SETTINGS.keywords) is expected


def test_confirmation_words_are_not_commands() -> None:
    """classify() stays about STOP/START lists: a "yes" pre-empts nothing."""
    assert classify("YES", SETTINGS.keywords) is KeywordMatch.NONE


NORMALIZE = [
    ("casefold", "STOP", "stop"),
    ("accents", "Perché", "perche"),
    ("sharp s", "Straße", "strasse"),
    ("inner punctuation", "opt_out!", "opt out"),
    ("fullwidth", "ＳＴＯＰ", "stop"),
    ("newlines", "\nstop\t", "stop"),
]


@pytest.mark.parametrize(
    ("text", "expected"), [c[1:] for c in NORMALIZE], ids=[c[0] for c in NORMALIZE]
)
def test_normalize(text: str, expected: str) -> None:
    assert normalize(text) == expected
