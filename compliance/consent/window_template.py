"""The template replacing a free-form message outside the 24-hour window, in the user's language.

With `customer_service_window.outside_window: template`, a free-form message that may not go
(Meta fails it with 131047) is replaced by the approved template of bot/compliance.yml, one per
supported language. The template should speak the language the user is spoken to in, which is
the `language` slot (chosen from the calling code at session start, then following what the user
writes; actions/language.py). The output channel does not see the slot, but it sees what Rasa
rendered: Rasa 3.6 copies the chosen response variation, `condition` included, into the bot
message (rasa/core/nlg/response.py `generate_from_slots`, then `create_bot_utterance` puts the
remaining keys into the message's metadata). So, in order:

1. the message was rendered from a variation conditioned on the `language` slot: that language;
2. the message was rendered from a response's default variation: the default language (the
   domain's convention, pinned by a test over domain.yml: the default variation is in the
   default language and every other supported language has its conditioned variation; a
   response without the user's variation speaks the default language, and so does its template);
3. a text an action wrote itself (no response): the language of the recipient's calling code,
   as for the consent confirmation template (connectors/whatsapp/confirmation.py), else the
   default language.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from compliance.consent.settings import ComplianceSettings, TemplateRef

LANGUAGE_SLOT = "language"


def rendered_language(message: Mapping[str, Any]) -> str | None:
    """The value of the `language` slot condition of the variation Rasa rendered, if any."""
    conditions = message.get("condition")
    if not isinstance(conditions, list):
        return None
    for condition in conditions:
        if (
            isinstance(condition, Mapping)
            and condition.get("type") == "slot"
            and condition.get("name") == LANGUAGE_SLOT
            and isinstance(condition.get("value"), str)
        ):
            return condition["value"]
    return None


def template_language(
    settings: ComplianceSettings, message: Mapping[str, Any], calling_code: str | None
) -> str:
    """The supported language of the user a message is for (see the module docstring)."""
    language = rendered_language(message)
    if language in settings.languages:
        return language  # type: ignore[return-value]
    if message.get("utter_action"):
        return settings.default_language
    return settings.language_for_calling_code(calling_code)


def window_template(
    settings: ComplianceSettings, message: Mapping[str, Any], calling_code: str | None
) -> TemplateRef | None:
    """The template replacing `message` outside the window; None when none is configured.

    Settings validation guarantees one template per supported language when any is set.
    """
    templates = settings.window_template
    if not templates:
        return None
    return templates[template_language(settings, message, calling_code)]
