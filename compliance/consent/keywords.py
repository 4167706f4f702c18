"""Opt-out / opt-in / confirmation keyword matching, before and independent of NLU.

Matching is on the WHOLE message after normalization, as Twilio's Advanced Opt-Out does: "STOP",
" stöp!! " and "Stop." opt out, but "stop the delivery of order A12" and "please stop" do not.
A leading-keyword rule would opt people out of a conversation about their order; natural
phrasings ("please stop messaging me") are the NLU intent `opt_out`'s job, not this module's.

Normalization (applied identically to keywords and messages): Unicode NFKD, drop combining marks
(accents), casefold, drop leading/trailing characters that are not letters or digits
(punctuation, emoji, whitespace), and turn every inner run of such characters into one space,
so "OPT-OUT", "opt  out" and "Opt_out!" are the same.

The confirmation words (keywords.confirm: YES, CONFIRM, SÌ, CONFERMO, ...) are matched the same
way but apart from `classify`: they are not a command that pre-empts the dialogue, only one of
the two unambiguous ways to say yes to a consent question (compliance/consent/answers.py).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

# A keyword is a few words; a longer message is never one, so we do not normalize a novel.
_MAX_KEYWORD_MESSAGE_CHARS = 200


class KeywordMatch(str, Enum):
    """What a message means if it is a keyword."""

    NONE = "none"
    OPT_OUT = "opt_out"  # withdraws every purpose
    OPT_IN = "opt_in"  # restarts the double opt-in
    MARKETING_STOP = "marketing_stop"  # withdraws marketing only


def _is_word_char(char: str) -> bool:
    return unicodedata.category(char)[0] in ("L", "N")


def normalize(text: str) -> str:
    """The comparable form of `text` (see the module docstring for the rules)."""
    decomposed = unicodedata.normalize("NFKD", text)
    without_marks = "".join(c for c in decomposed if not unicodedata.combining(c))
    folded = without_marks.casefold()
    words: list[str] = []
    current: list[str] = []
    for char in folded:
        if _is_word_char(char):
            current.append(char)
        elif current:
            words.append("".join(current))
            current = []
    if current:
        words.append("".join(current))
    return " ".join(words)


@dataclass(frozen=True)
class KeywordSets:
    """Normalized keyword sets; build once from settings with `KeywordSets.build`."""

    opt_out: frozenset[str]
    opt_in: frozenset[str]
    marketing_stop: frozenset[str]
    confirm: frozenset[str] = frozenset()

    @classmethod
    def build(
        cls,
        opt_out: Iterable[str],
        opt_in: Iterable[str],
        marketing_stop: Iterable[str] = (),
        confirm: Iterable[str] = (),
    ) -> KeywordSets:
        return cls(
            opt_out=frozenset(normalize(k) for k in opt_out),
            opt_in=frozenset(normalize(k) for k in opt_in),
            marketing_stop=frozenset(normalize(k) for k in marketing_stop),
            confirm=frozenset(normalize(k) for k in confirm),
        )


def classify(text: str | None, keywords: KeywordSets) -> KeywordMatch:
    """Which keyword list the whole message matches, if any.

    The lists are disjoint (settings.py checks it), so the order of the tests does not matter.
    """
    if not text or len(text) > _MAX_KEYWORD_MESSAGE_CHARS:
        return KeywordMatch.NONE
    key = normalize(text)
    if not key:
        return KeywordMatch.NONE
    if key in keywords.opt_out:
        return KeywordMatch.OPT_OUT
    if key in keywords.marketing_stop:
        return KeywordMatch.MARKETING_STOP
    if key in keywords.opt_in:
        return KeywordMatch.OPT_IN
    return KeywordMatch.NONE


def is_confirmation(text: str | None, keywords: KeywordSets) -> bool:
    """True if the whole message is one of the explicit confirmation words (keywords.confirm)."""
    if not text or len(text) > _MAX_KEYWORD_MESSAGE_CHARS:
        return False
    key = normalize(text)
    return bool(key) and key in keywords.confirm
