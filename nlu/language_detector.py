"""Tell English from Italian so that the bot answers in the language the user writes in.

`detect_language` is a pure function over function words and shop words of both languages; it
returns None when unsure (order ids, "ok", emoji, a tie), so the `language` slot keeps its value
instead of flapping. `LanguageDetector` is the Rasa 3.6 graph component that turns its answer into
a `language` entity, which fills the `language` slot (domain.yml). No training, no state, and it
never logs the text it reads.
"""

from __future__ import annotations

import re
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

ENGLISH = "en"
ITALIAN = "it"
LANGUAGE_ENTITY = "language"

# Words that are common in one language and (almost) never written in the other. Words both
# languages use in chat ("ok", "no", "a", "i", "in", "me", "come", "stop", "privacy", "bot",
# "robot", "info", "marketing") are deliberately absent: they carry no signal.
_ENGLISH_WORDS = frozenset(
    """
    the an is are was were am be been my mine you your yours it its this that these those
    to of for and or with from by at on about into not don't dont doesn't can't cant won't
    where what when why how who which can could would should will shall do does did have has
    had get got want wanna need like please pls plz thanks thank thx ty hello hi hey hiya yo
    bye goodbye later see good morning afternoon evening night yes yeah yep yup nope nah sure
    absolutely correct right fine order orders package parcel delivery deliver delivered
    shipping ship shipped arrive arrived arriving return returns refund
    send sent still yet delete erase remove forget personal information human agent
    person someone somebody real talk speak help support unsubscribe subscribe
    notice policy messages message texting text anymore again any some all much many long
    take takes days day week weeks item items back money there here just i'm i'd i've
    im ive let's lets tell show give know then but also too because if than now
    """.split()
)
_ITALIAN_WORDS = frozenset(
    """
    il lo la le gli l un una uno dei degli delle del della dello di da dal dalla al alla
    allo ai agli nel nella nei su sul sulla per con tra fra e ed o che chi cosa non ma anche
    più piu è e' sono sei siamo siete ho hai ha abbiamo avete hanno mio mia miei mie tuo tua
    tu suo sua vostro vostra nostro nostra mi ti ci vi si sì gli dove dov quando quanto quanti
    quale quali perché perche voglio vorrei vuoi posso puoi può puo potete potrei
    devo deve fare fatto dire parlare scrivere sapere grazie ciao buongiorno buonasera
    buonanotte salve arrivederci addio presto dopo certo esatto assolutamente va bene
    ordine ordini pacco pacchi spedizione spedito consegna consegne consegnato arriva
    arrivato arrivo stato reso resi restituire rimborso soldi dati personali cancella
    cancellare cancellami elimina eliminare eliminate cancellate rimuovi informativa
    operatore persona umano umana aiuto aiutami assistenza annulla basta disiscrivimi
    iscrivimi riattiva disattiva messaggi messaggio più pubblicità pubblicita offerte
    promozioni tempo tempi giorni giorno settimana settimane ancora già gia ecco
    avete sapere vero davvero parlo sto stai sta stanno tutto tutti tutte niente nessun
    nessuna qualcuno qualcosa qui qua adesso ora subito oggi domani ieri mandare inviare
    ricevere tracciamento numero codice spedizioni corriere vuole ricevuto se poi però pero
    quindi allora dunque cioè oppure
    """.split()
)
_ENGLISH_CONTRACTIONS = frozenset({"s", "t", "m", "re", "ve", "ll", "d"})
_ITALIAN_ELISIONS = frozenset(
    "l dell all dall nell sull coll un quest quell c d n dov com cos po s m t v".split()
)
_ACCENTED = re.compile(r"[àèéìòù]")
# Letters (with Italian accents) and inner apostrophes: "dov'è" -> "dov", "è"; "don't" stays whole.
_WORD = re.compile(r"[a-zàèéìòù]+(?:'[a-zàèéìòù]+)?")
# An answer needs this many more marker words than the other language, and twice as many.
_MIN_MARGIN = 1


def _word_language(word: str) -> str | None:
    """The language one lower-cased word signals, if any."""
    if word in _ENGLISH_WORDS:
        return ENGLISH
    if word in _ITALIAN_WORDS or _ACCENTED.search(word):
        return ITALIAN
    if "'" in word:
        head, tail = word.split("'", 1)
        if tail in _ENGLISH_CONTRACTIONS:  # "where's", "it's", "i'm", "we'll"
            return ENGLISH
        if head in _ITALIAN_ELISIONS:  # "dell'ordine", "l'ordine", "un'altra"
            return ITALIAN
    return None


def language_markers(text: str) -> list[tuple[str, int, int]]:
    """(language, start, end) of each word of `text` that signals a language, in order."""
    # Same length after lower() and the apostrophe swap, so offsets index the original text.
    normalized = text.lower().replace("’", "'")
    if len(normalized) != len(text):
        normalized = "".join(c.lower() if len(c.lower()) == 1 else c for c in text)
        normalized = normalized.replace("’", "'")
    markers = []
    for match in _WORD.finditer(normalized):
        language = _word_language(match.group(0))
        if language:
            markers.append((language, match.start(), match.end()))
    return markers


def language_scores(text: str) -> tuple[int, int]:
    """(English, Italian) marker-word counts of `text`."""
    languages = [language for language, _, _ in language_markers(text)]
    return languages.count(ENGLISH), languages.count(ITALIAN)


def _decide(english: int, italian: int) -> str | None:
    if english == italian:
        return None
    if italian > english:
        winner, loser, language = italian, english, ITALIAN
    else:
        winner, loser, language = english, italian, ENGLISH
    if loser == 0 or (winner - loser > _MIN_MARGIN and winner >= 2 * loser):
        return language
    return None


def detect_language(text: str) -> str | None:
    """The language of `text` ("en"/"it") when clear, else None (ids, emoji, "ok", ties)."""
    if not text:
        return None
    return _decide(*language_scores(text))


def detect_language_span(text: str) -> tuple[str, int, int] | None:
    """`detect_language` plus the span of its first evidence word (the entity's position)."""
    if not text:
        return None
    markers = language_markers(text)
    languages = [language for language, _, _ in markers]
    language = _decide(languages.count(ENGLISH), languages.count(ITALIAN))
    if language is None:
        return None
    return next(marker for marker in markers if marker[0] == language)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class LanguageDetector(GraphComponent, EntityExtractorMixin):
    """Adds a `language` entity ("en"/"it") to a message whose language is clear.

    The entity spans the first word that gives the language away ("[dov'è]{...} il mio ordine"),
    so it never overlaps an order number and test stories can annotate it like any entity.

    An entity rather than a message attribute because Rasa fills slots from entities out of the
    box (the `language` slot's from_entity mapping), so no custom slot action is needed.
    """

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """No options: the word lists are the model."""
        return {}

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LanguageDetector:
        """Stateless: nothing to load or persist."""
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        """Append the language entity to each message whose language `detect_language` knows."""
        for message in messages:
            detected = detect_language_span(message.get(TEXT) or "")
            if detected is None:
                continue
            language, start, end = detected
            entity = {
                ENTITY_ATTRIBUTE_TYPE: LANGUAGE_ENTITY,
                ENTITY_ATTRIBUTE_VALUE: language,
                ENTITY_ATTRIBUTE_START: start,
                ENTITY_ATTRIBUTE_END: end,
            }
            message.set(
                ENTITIES,
                message.get(ENTITIES, []) + self.add_extractor_name([entity]),
                add_to_output=True,
            )
        return messages
