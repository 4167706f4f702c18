"""bot/compliance.yml validation: every mutation names the file and the key."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from compliance.consent.settings import load_settings, parse_settings
from compliance.errors import ConfigError

GOOD = yaml.safe_load(Path("bot/compliance.yml").read_text(encoding="utf-8"))


def mutate(path: str, value: Any) -> dict:
    data = copy.deepcopy(GOOD)
    *parents, last = path.split(".")
    node = data
    for key in parents:
        node = node[key]
    if value is KeyError:
        del node[last]
    else:
        node[last] = value
    return data


CASES = [
    ("unknown top key", "colour", "red", "colour: unknown key"),
    ("missing keywords", "keywords", KeyError, "keywords: is required"),
    ("empty opt_out", "keywords.opt_out", [], "keywords.opt_out: must be a non-empty list"),
    ("opt_out not a list", "keywords.opt_out", "STOP", "keywords.opt_out: must be a non-empty"),
    (
        "keyword in two lists",
        "keywords.opt_in",
        ["START", "stop"],
        "keywords.opt_in: 'stop' is also in keywords.opt_out",
    ),
    ("keyword without letters", "keywords.opt_in", ["!!"], "has no letters"),
    ("missing confirmation words", "keywords.confirm", KeyError, "keywords.confirm: is required"),
    ("empty confirmation words", "keywords.confirm", [], "keywords.confirm: must be a non-empty"),
    (
        "unquoted YES is a YAML boolean, not a word",
        "keywords.confirm",
        [True],
        "keywords.confirm[0]: must be a non-empty string",
    ),
    ("emoji is no confirmation word", "keywords.confirm", ["👍"], "has no letters"),
    (
        "confirmation word that opts in",
        "keywords.confirm",
        ["YES", "start"],
        "keywords.confirm: 'start' is also in keywords.opt_in",
    ),
    ("unknown keyword list", "keywords.confirmm", ["YES"], "keywords.confirmm: unknown key"),
    (
        "missing marketing purpose",
        "purposes.marketing",
        KeyError,
        "purposes.marketing: is required",
    ),
    (
        "purpose without italian",
        "purposes.service.description",
        {"en": "x"},
        "purposes.service.description.it: is required",
    ),
    ("notice without version", "privacy_notice.version", "", "privacy_notice.version"),
    (
        "notice url http",
        "privacy_notice.url",
        {"en": "http://x", "it": "https://y"},
        "privacy_notice.url.en: must start with https://",
    ),
    (
        "template without name",
        "confirmation_template.it",
        {"language": "it"},
        "confirmation_template.it.name: is required",
    ),
    (
        "expiry negative",
        "pending_confirmation_expiry_hours",
        -1,
        "pending_confirmation_expiry_hours: must be a positive number",
    ),
    ("expiry text", "pending_confirmation_expiry_hours", "72h", "must be a positive number"),
    ("window over 24", "customer_service_window.hours", 48, "at most 24"),
    (
        "window mode unknown",
        "customer_service_window.outside_window",
        "drop",
        "must be one of: refuse, template",
    ),
    (
        "template mode without template",
        "customer_service_window.outside_window",
        "template",
        "customer_service_window.template: required",
    ),
    (
        "sweep interval zero",
        "pending_confirmation_sweep_minutes",
        0,
        "pending_confirmation_sweep_minutes: must be a positive number",
    ),
    (
        "sweep interval text",
        "pending_confirmation_sweep_minutes",
        "15m",
        "pending_confirmation_sweep_minutes: must be a positive number",
    ),
    (
        "sweep interval longer than the expiry",
        "pending_confirmation_sweep_minutes",
        72 * 60 + 1,
        "pending_confirmation_sweep_minutes: must not exceed pending_confirmation_expiry_hours",
    ),
    ("default language unknown", "languages.default", "fr", "languages.default: must be one of"),
    ("calling code not digits", "languages.by_calling_code", {"+39": "it"}, "digits only"),
]


@pytest.mark.parametrize(
    ("path", "value", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_invalid_settings_name_file_and_key(path: str, value: Any, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_settings(mutate(path, value), "bot/compliance.yml")
    assert str(info.value).startswith("bot/compliance.yml: ")
    assert message in str(info.value)


def test_the_shipped_file_is_valid() -> None:
    s = load_settings("bot/compliance.yml")
    assert s.language_for_calling_code("39") == "it"
    assert s.language_for_calling_code("+44") == "en"
    assert s.language_for_calling_code(None) == "en"
    assert s.pending_expiry.total_seconds() == 72 * 3600
    assert set(s.purposes) == {"service", "marketing"}
    assert s.confirmation_template["it"].language == "it"
    assert {"YES", "CONFIRM", "SÌ", "CONFERMO"} <= set(s.confirm_keywords)


def test_missing_file_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(tmp_path / "nope.yml")
    bad = tmp_path / "bad.yml"
    bad.write_text("keywords: [", encoding="utf-8")
    with pytest.raises(ConfigError, match="bad.yml: not valid YAML"):
        load_settings(bad)


def test_template_mode_with_template() -> None:
    data = mutate("customer_service_window.outside_window", "template")
    data["customer_service_window"]["template"] = {
        "en": {"name": "reopen", "language": "en"},
        "it": {"name": "reopen", "language": "it"},
    }
    assert parse_settings(data, "x").window_template["en"].name == "reopen"


SWEEP_CASES = [
    # label, value (KeyError: key absent), interval in seconds
    ("absent: 15 minutes", KeyError, 15 * 60),
    ("a fraction of a minute", 0.05, 3),
    ("once an hour", 60, 3600),
]


@pytest.mark.parametrize(
    ("value", "seconds"), [c[1:] for c in SWEEP_CASES], ids=[c[0] for c in SWEEP_CASES]
)
def test_sweep_interval(value: Any, seconds: float) -> None:
    settings = parse_settings(mutate("pending_confirmation_sweep_minutes", value), "x")
    assert settings.sweep_interval.total_seconds() == pytest.approx(seconds)
