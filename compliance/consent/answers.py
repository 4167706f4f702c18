"""What a user's message says to a consent question: yes, no, a doubtful yes, or nothing.

Why not the NLU's intent: consent must be "an unambiguous indication ... by a statement or by a
clear affirmative action" (GDPR art. 4(11), recital 32), and the controller must be able to show
it (art. 7(1)). A classifier's `affirm` is a guess: Sigillo's NLU labels "??" or an emoji
`affirm` with 0.92. So a consent step (the first "yes" and the confirmation of the double
opt-in, for every purpose) is taken only on one of two signals:

- the button's payload, AFFIRM_PAYLOAD: a tap on Yes / Confirm (reply button, list row, the
  confirmation template's quick reply) reaches Rasa as "/affirm", and so does a typed "1" that
  the channel maps back to that numbered choice. Typed text cannot forge it: the WhatsApp
  channel strips a leading "/" from anything the user types (connectors/whatsapp/
  inbound_mapping.py, neutralize_text), so only our own buttons produce a leading "/";
- an explicit word of the designer's list keywords.confirm in bot/compliance.yml (YES, CONFIRM,
  SÌ, CONFERMO, ...), matched on the whole message like STOP (keywords.py).

Anything else the NLU calls `affirm` is UNCLEAR: the flow asks the same question again. A "no"
needs no such proof: declining records a refusal and sends nothing more, which START undoes,
so the NLU's `deny` is enough (doubt may decline, never consent).

Both ConsentPolicy (compliance/policy/decision.py) and the consent action (actions/consent.py)
call `consent_answer`, so they cannot disagree on what counts as yes.
"""

from __future__ import annotations

from enum import Enum

from compliance.consent.keywords import KeywordSets, is_confirmation

# The payload of every Yes / Confirm button of the consent flow (domain.yml) and of the
# confirmation template's quick reply (connectors/whatsapp/confirmation.py CONFIRM_PAYLOAD).
AFFIRM_PAYLOAD = "/affirm"
AFFIRM_INTENT = "affirm"
DENY_INTENT = "deny"


class Answer(str, Enum):
    """The user's answer to a pending consent question."""

    YES = "yes"  # the Yes/Confirm payload or a keywords.confirm word: a consent step may be taken
    NO = "no"  # the NLU's deny (or the No / Not now payload): a refusal
    UNCLEAR = "unclear"  # the NLU says affirm but the message is no explicit act: ask again
    NONE = "none"  # not an answer (an order question, a greeting, media ...)


def consent_answer(intent: str | None, text: str | None, keywords: KeywordSets) -> Answer:
    """Classify the latest user message as an answer to a consent question (module docstring).

    `text` is the message as Rasa received it (a tap is its payload); `intent` the NLU's label.
    """
    if text is not None and text.strip() == AFFIRM_PAYLOAD:
        return Answer.YES
    if is_confirmation(text, keywords):
        return Answer.YES
    if intent == DENY_INTENT:
        return Answer.NO
    if intent == AFFIRM_INTENT:
        return Answer.UNCLEAR
    return Answer.NONE
