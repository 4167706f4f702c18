"""detect_language: the reply language follows the user only when the text is clearly one."""

from __future__ import annotations

import pytest

from nlu.language_detector import LanguageDetector, detect_language, detect_language_span

CASES = [
    # English
    ("where is my order A1234", "en"),
    ("hi", "en"),
    ("thanks!", "en"),
    ("delete my data", "en"),
    ("I want to talk to a human", "en"),
    ("privacy notice", "en"),
    ("how long does delivery take?", "en"),
    ("ciao, where is my order?", "en"),  # one Italian greeting, an English question
    ("yes", "en"),
    # Italian
    ("dov'è il mio ordine A1234", "it"),
    ("vorrei parlare con un operatore", "it"),
    ("cancella i miei dati", "it"),
    ("quali dati avete su di me", "it"),
    ("informativa privacy", "it"),
    ("ciao", "it"),
    ("grazie mille", "it"),
    ("sì", "it"),
    ("il mio ordine non è arrivato", "it"),
    ("DOV'È IL MIO PACCO", "it"),
    ("dell'ordine A1234?", "it"),
    ("basta pubblicità", "it"),
    # Not sure: keep the current language
    ("A1234", None),
    ("100234", None),
    ("ok", None),
    ("no", None),
    ("STOP", None),
    ("👍", None),
    ("🙂🙂", None),
    ("", None),
    ("/affirm", None),
    ("ciao thanks", None),  # a tie
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_detect_language(text: str, expected: str | None) -> None:
    assert detect_language(text) == expected


def test_component_adds_language_entity_only_when_sure() -> None:
    from rasa.shared.nlu.training_data.message import Message

    detector = LanguageDetector()
    sure = Message(data={"text": "dov'è il mio ordine", "entities": [{"entity": "x"}]})
    unsure = Message(data={"text": "A1234"})
    detector.process([sure, unsure])

    assert sure.get("entities")[0] == {"entity": "x"}
    language = sure.get("entities")[1]
    assert (language["entity"], language["value"]) == ("language", "it")
    assert (language["start"], language["end"]) == (0, 5)  # "dov'è"
    assert language["extractor"] == "LanguageDetector"
    assert unsure.get("entities", []) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("where is my order A1234", ("en", 0, 5)),
        ("a che punto è", ("it", 2, 5)),
        ("DOV’È IL MIO PACCO", ("it", 0, 5)),
        ("A1234 grazie", ("it", 6, 12)),
        ("A1234", None),
    ],
)
def test_detect_language_span_is_the_first_evidence_word(
    text: str, expected: tuple[str, int, int] | None
) -> None:
    assert detect_language_span(text) == expected
