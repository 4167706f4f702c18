"""Outside the 24-hour window a free-form message is replaced by the window template in the
user's language: the pure choice (one table), the settings that make it possible, the two facts
of Rasa and of the domain it relies on, and the gate that applies and audits it."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml

from compliance.consent.settings import ComplianceSettings, parse_settings
from compliance.consent.window_template import rendered_language, template_language
from compliance.errors import ConfigError

REPO = Path(__file__).resolve().parents[3]
SHIPPED = yaml.safe_load((REPO / "bot" / "compliance.yml").read_text(encoding="utf-8"))
WINDOW_TEMPLATES = {
    "en": {"name": "sigillo_window_reopen", "language": "en"},
    "it": {"name": "sigillo_window_reopen", "language": "it"},
}
ITALIAN = {"type": "slot", "name": "language", "value": "it"}


def template_mode(**window: Any) -> dict[str, Any]:
    data = copy.deepcopy(SHIPPED)
    data["customer_service_window"] = {
        "hours": 24,
        "outside_window": "template",
        "template": copy.deepcopy(WINDOW_TEMPLATES),
        **window,
    }
    return data


SETTINGS: ComplianceSettings = parse_settings(template_mode(), "compliance.yml")

CASES = [
    # label, message Rasa sent, recipient's calling code, language of the template
    ("italian variation", {"utter_action": "utter_returns", "condition": [ITALIAN]}, "44", "it"),
    ("default variation, uk number", {"utter_action": "utter_returns"}, "44", "en"),
    # The user wrote in English (the language slot followed): the reply and its template too.
    ("default variation, italian number", {"utter_action": "utter_returns"}, "39", "en"),
    ("action's own text, italian number", {"text": "A1234 shipped"}, "39", "it"),
    ("action's own text, uk number", {"text": "A1234 shipped"}, "44", "en"),
    ("action's own text, no phone", {"text": "A1234 shipped"}, None, "en"),
    (
        "language among other conditions",
        {
            "utter_action": "utter_returns",
            "condition": [{"type": "slot", "name": "tier", "value": "gold"}, ITALIAN],
        },
        "44",
        "it",
    ),
    (
        "unsupported language in the condition",
        {"utter_action": "utter_returns", "condition": [{**ITALIAN, "value": "fr"}]},
        "39",
        "en",
    ),
    (
        "condition on another slot",
        {"utter_action": "utter_returns", "condition": [{**ITALIAN, "name": "tier"}]},
        "39",
        "en",
    ),
    ("malformed condition", {"utter_action": "utter_x", "condition": "it"}, "39", "en"),
    ("malformed condition item", {"utter_action": "utter_x", "condition": ["it"]}, "44", "en"),
    ("condition value not text", {"text": "x", "condition": [{**ITALIAN, "value": 1}]}, "39", "it"),
]


@pytest.mark.parametrize(
    ("message", "code", "language"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_template_language(message: dict, code: str | None, language: str) -> None:
    assert template_language(SETTINGS, message, code) == language
    assert SETTINGS.window_template[language].language == language


def test_regional_language_codes_are_accepted() -> None:
    data = template_mode(template={**WINDOW_TEMPLATES, "en": {"name": "r2", "language": "en_US"}})
    assert parse_settings(data, "x").window_template["en"].language == "en_US"


# --- settings: validated at start-up, naming the key ---------------------------------------------

INVALID = [
    (
        "no italian template",
        {"template": {"en": WINDOW_TEMPLATES["en"]}},
        "customer_service_window.template.it: is required",
    ),
    (
        "a language that is not supported",
        {"template": {**WINDOW_TEMPLATES, "fr": {"name": "t", "language": "fr"}}},
        "customer_service_window.template.fr: unknown key",
    ),
    (
        "template without language code",
        {"template": {**WINDOW_TEMPLATES, "it": {"name": "sigillo_window_reopen"}}},
        "customer_service_window.template.it.language: is required",
    ),
    (
        "template with empty name",
        {"template": {**WINDOW_TEMPLATES, "en": {"name": " ", "language": "en"}}},
        "customer_service_window.template.en.name: must be a non-empty string",
    ),
    (
        "template name with capitals",
        {"template": {**WINDOW_TEMPLATES, "it": {"name": "Window Reopen", "language": "it"}}},
        "customer_service_window.template.it.name: lowercase letters, digits and _ only",
    ),
    (
        "language code with a dash",
        {"template": {**WINDOW_TEMPLATES, "en": {"name": "reopen", "language": "en-US"}}},
        "customer_service_window.template.en.language: must look like 'it' or 'en_US'",
    ),
    (
        "template mode without template",
        {"template": KeyError},
        "customer_service_window.template: required when outside_window is 'template'",
    ),
]


@pytest.mark.parametrize(
    ("window", "message"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID]
)
def test_invalid_window_template_names_the_key(window: dict, message: str) -> None:
    data = template_mode(**{k: v for k, v in window.items() if v is not KeyError})
    for key in [k for k, v in window.items() if v is KeyError]:
        del data["customer_service_window"][key]
    with pytest.raises(ConfigError) as info:
        parse_settings(data, "bot/compliance.yml")
    assert str(info.value).startswith("bot/compliance.yml: ")
    assert message in str(info.value)


# --- what the choice relies on -------------------------------------------------------------------


def test_rasa_copies_the_chosen_variations_condition_into_the_message() -> None:
    """Rasa 3.6: the rendered variation, condition included, becomes the bot message's metadata,
    which is what the output channel receives (BotUttered.message())."""
    import asyncio

    from rasa.core.actions.action import create_bot_utterance
    from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import SlotSet
    from rasa.shared.core.trackers import DialogueStateTracker

    domain = Domain.load(str(REPO / "domain.yml"))
    nlg = TemplatedNaturalLanguageGenerator(domain.responses)
    for language, expected in (("it", "it"), ("en", None)):
        tracker = DialogueStateTracker.from_events(
            "s", [SlotSet("language", language)], domain.slots
        )
        response = asyncio.run(nlg.generate("utter_delivery_times", tracker, "whatsapp"))
        assert response is not None
        response["utter_action"] = "utter_delivery_times"  # as ActionBotResponse adds it
        message = create_bot_utterance(response).message()
        assert rendered_language(message) == expected


def test_every_response_speaks_every_supported_language() -> None:
    """The domain's convention behind rule 2: a default variation in the default language and a
    variation conditioned on each other supported language."""
    settings = parse_settings(SHIPPED, "bot/compliance.yml")
    others = set(settings.languages) - {settings.default_language}
    domain = yaml.safe_load((REPO / "domain.yml").read_text(encoding="utf-8"))
    for name, variations in domain["responses"].items():
        defaults = [v for v in variations if not v.get("condition")]
        conditioned = {rendered_language(v) for v in variations if v.get("condition")}
        assert defaults, f"{name}: no default variation"
        assert others <= conditioned, f"{name}: no variation for {sorted(others - conditioned)}"


# --- the gate: the template replaces the message, and both facts are audited ---------------------


@pytest.fixture
def gate(tmp_path: Path):  # type: ignore[no-untyped-def]
    from compliance.context import build_context
    from compliance.gate import ComplianceGate
    from compliance.keys import write_new_keyfile

    write_new_keyfile(tmp_path / "keys.json")
    settings_file = tmp_path / "compliance.yml"
    settings_file.write_text(yaml.safe_dump(template_mode()), encoding="utf-8")
    env = {
        "SIGILLO_KEY_FILE": str(tmp_path / "keys.json"),
        "SIGILLO_DATABASE_URL": f"sqlite:///{tmp_path / 'sigillo.db'}",
        "SIGILLO_COMPLIANCE_FILE": str(settings_file),
    }
    context = build_context(env, component="channel")
    yield ComplianceGate(context)
    context.audit.close()


def refusals(gate, subject: str) -> list[dict]:  # type: ignore[no-untyped-def]
    with gate.engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT attributes FROM audit_entries WHERE subject = :s AND kind = :k"),
            {"s": subject, "k": "send_refused"},
        ).scalars()
        return [json.loads(r) for r in rows]


@pytest.mark.parametrize(
    ("phone", "message", "language"),
    [
        ("+393331234567", {"utter_action": "utter_returns", "condition": [ITALIAN]}, "it"),
        ("+447700900123", {"utter_action": "utter_returns"}, "en"),
        ("+393331234568", {"text": "A1234 shipped"}, "it"),
    ],
    ids=["italian reply", "english reply", "action text to an italian number"],
)
def test_the_gate_replaces_and_audits(gate, phone: str, message: dict, language: str) -> None:  # type: ignore[no-untyped-def]
    from devstack.consent import grant_consent

    subject = gate.context.vault.register("phone", phone)
    grant_consent(gate.context, [subject])
    now = datetime.now(timezone.utc)
    gate.context.ledger.record_inbound(subject, now - timedelta(hours=1))
    assert gate.check_send(subject, dict(message)).template is None  # window open: as it is
    assert refusals(gate, subject) == []

    gate.context.ledger.record_inbound(subject, now - timedelta(hours=25))
    decision = gate.check_send(subject, dict(message))
    assert (decision.allowed, decision.reason) == (True, "template")
    assert decision.template == {"name": "sigillo_window_reopen", "language": language}
    [refused] = refusals(gate, subject)
    assert refused == {
        "reason": "outside_window",
        "response": message.get("utter_action"),
        "replaced_by": "template",
        "template": "sigillo_window_reopen",
        "template_language": language,
    }
