"""bot/compliance.yml: the designer-editable consent settings, loaded and validated once.

Designers change keywords, purposes, the notice version and link, templates and expiry times
here without touching Python. Every error is a ConfigError naming the file and the key path
(`bot/compliance.yml: keywords.opt_out: must be a non-empty list of strings`); unknown keys are
rejected so that a typo does not silently fall back to a default.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

from compliance.consent.keywords import KeywordSets, normalize
from compliance.errors import ConfigError

_TOP_KEYS = {
    "languages",
    "keywords",
    "purposes",
    "privacy_notice",
    "confirmation_template",
    "pending_confirmation_expiry_hours",
    "customer_service_window",
}
# Optional keys and their defaults.
SWEEP_MINUTES_KEY = "pending_confirmation_sweep_minutes"
DEFAULT_SWEEP_MINUTES = 15.0
_OPTIONAL_TOP_KEYS = {SWEEP_MINUTES_KEY}
# keywords.confirm: the explicit words that say yes to a consent question (answers.py).
KEYWORD_LISTS = ("opt_out", "opt_in", "marketing_stop", "confirm")
REQUIRED_PURPOSES = ("service", "marketing")
_TEMPLATE_NAME = re.compile(r"[a-z0-9_]{1,512}")
_TEMPLATE_LANGUAGE = re.compile(r"[a-z]{2,3}(_[A-Z]{2,3})?")  # "it", "en_US", "fil"
OUTSIDE_WINDOW_CHOICES = ("refuse", "template")


@dataclass(frozen=True)
class TemplateRef:
    """An approved WhatsApp template: its name and its language code as registered with Meta."""

    name: str
    language: str


@dataclass(frozen=True)
class ComplianceSettings:
    """The validated content of bot/compliance.yml."""

    source: str
    languages: tuple[str, ...]
    default_language: str
    language_by_calling_code: Mapping[str, str]
    opt_out_keywords: tuple[str, ...]
    opt_in_keywords: tuple[str, ...]
    marketing_stop_keywords: tuple[str, ...]
    keywords: KeywordSets
    purposes: Mapping[str, Mapping[str, str]]  # purpose -> language -> description
    notice_version: str
    notice_url: Mapping[str, str]
    confirmation_template: Mapping[str, TemplateRef]
    pending_expiry: timedelta
    window: timedelta
    outside_window: str  # "refuse" or "template"
    window_template: Mapping[str, TemplateRef] | None
    # How often the running channel expires unconfirmed first opt-ins (compliance/gate.py).
    sweep_interval: timedelta = timedelta(minutes=DEFAULT_SWEEP_MINUTES)
    # keywords.confirm as written; `keywords.confirm` holds them normalized.
    confirm_keywords: tuple[str, ...] = ()

    def language_for_calling_code(self, calling_code: str | None) -> str:
        """The language for a country calling code ("39" or "+39"), else the default."""
        code = (calling_code or "").lstrip("+")
        return self.language_by_calling_code.get(code, self.default_language)


def load_settings(path: str | Path) -> ComplianceSettings:
    """Read and validate the settings file; raises ConfigError naming the file and key."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError(f"{source}: cannot read the compliance settings ({reason})") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: not valid YAML ({type(exc).__name__})") from exc
    return parse_settings(data, source)


def parse_settings(data: Any, source: str) -> ComplianceSettings:
    """Validate an already-parsed mapping; `source` names the file in errors."""
    r = _Reader(source)
    top = r.mapping(data, "", required=_TOP_KEYS, allowed=_TOP_KEYS | _OPTIONAL_TOP_KEYS)

    lang = r.mapping(
        top["languages"],
        "languages",
        required={"supported", "default"},
        allowed={"supported", "default", "by_calling_code"},
    )
    languages = tuple(r.strings(lang["supported"], "languages.supported"))
    default = r.choice(lang["default"], "languages.default", languages)
    by_code_raw = r.mapping(lang.get("by_calling_code", {}), "languages.by_calling_code")
    by_code = {}
    for code, value in by_code_raw.items():
        key = f"languages.by_calling_code.{code}"
        if not str(code).isdigit():
            raise ConfigError(f"{source}: {key}: a calling code is digits only, like 39")
        by_code[str(code)] = r.choice(value, key, languages)

    kw = r.mapping(
        top["keywords"], "keywords", required=set(KEYWORD_LISTS), allowed=set(KEYWORD_LISTS)
    )
    opt_out = tuple(r.strings(kw["opt_out"], "keywords.opt_out"))
    opt_in = tuple(r.strings(kw["opt_in"], "keywords.opt_in"))
    marketing = tuple(r.strings(kw["marketing_stop"], "keywords.marketing_stop"))
    # Required, never defaulted: without it only a button tap could give consent, and a
    # designer should decide that knowingly (compliance/consent/answers.py).
    confirm = tuple(r.strings(kw["confirm"], "keywords.confirm"))
    sets = KeywordSets.build(opt_out, opt_in, marketing, confirm)
    _check_keywords(
        source,
        {"opt_out": opt_out, "opt_in": opt_in, "marketing_stop": marketing, "confirm": confirm},
    )

    purposes_raw = r.mapping(top["purposes"], "purposes", required=set(REQUIRED_PURPOSES))
    purposes = {}
    for name, body in purposes_raw.items():
        p = r.mapping(body, f"purposes.{name}", required={"description"})
        purposes[str(name)] = r.per_language(
            p["description"], f"purposes.{name}.description", languages
        )

    notice = r.mapping(top["privacy_notice"], "privacy_notice", required={"version", "url"})
    version = r.string(notice["version"], "privacy_notice.version")
    urls = r.per_language(notice["url"], "privacy_notice.url", languages)
    for language, url in urls.items():
        if not url.startswith("https://"):
            raise ConfigError(f"{source}: privacy_notice.url.{language}: must start with https://")

    confirmation = r.templates(top["confirmation_template"], "confirmation_template", languages)
    expiry_hours = r.positive_number(
        top["pending_confirmation_expiry_hours"], "pending_confirmation_expiry_hours"
    )
    sweep_minutes = r.positive_number(
        top.get(SWEEP_MINUTES_KEY, DEFAULT_SWEEP_MINUTES), SWEEP_MINUTES_KEY
    )
    if sweep_minutes > expiry_hours * 60:
        # Opt-ins would then outlive their expiry by up to a whole interval.
        raise ConfigError(
            f"{source}: {SWEEP_MINUTES_KEY}: must not exceed "
            "pending_confirmation_expiry_hours (in minutes)"
        )

    win = r.mapping(
        top["customer_service_window"],
        "customer_service_window",
        required={"hours", "outside_window"},
        allowed={"hours", "outside_window", "template"},
    )
    hours = r.positive_number(win["hours"], "customer_service_window.hours")
    if hours > 24:
        raise ConfigError(f"{source}: customer_service_window.hours: Meta's window is at most 24")
    outside = r.choice(
        win["outside_window"], "customer_service_window.outside_window", OUTSIDE_WINDOW_CHOICES
    )
    window_template = None
    if outside == "template" or "template" in win:
        if "template" not in win:
            raise ConfigError(
                f"{source}: customer_service_window.template: required when "
                "outside_window is 'template'"
            )
        window_template = r.templates(
            win["template"], "customer_service_window.template", languages
        )

    return ComplianceSettings(
        source=source,
        languages=languages,
        default_language=default,
        language_by_calling_code=by_code,
        opt_out_keywords=opt_out,
        opt_in_keywords=opt_in,
        marketing_stop_keywords=marketing,
        keywords=sets,
        confirm_keywords=confirm,
        purposes=purposes,
        notice_version=version,
        notice_url=urls,
        confirmation_template=confirmation,
        pending_expiry=timedelta(hours=expiry_hours),
        window=timedelta(hours=hours),
        outside_window=outside,
        window_template=window_template,
        sweep_interval=timedelta(minutes=sweep_minutes),
    )


def _check_keywords(source: str, lists: dict[str, tuple[str, ...]]) -> None:
    # A keyword in two lists would make "START" both opt in and opt out; refuse it at start-up.
    seen: dict[str, str] = {}
    for list_name, words in lists.items():
        for word in words:
            key = normalize(word)
            if not key:
                raise ConfigError(f"{source}: keywords.{list_name}: {word!r} has no letters")
            other = seen.get(key)
            if other is not None and other != list_name:
                raise ConfigError(
                    f"{source}: keywords.{list_name}: {word!r} is also in keywords.{other}"
                )
            seen[key] = list_name


class _Reader:
    """Typed accessors that raise ConfigError naming the file and the key path."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str, rule: str) -> ConfigError:
        return ConfigError(f"{self.source}: {key or '(top level)'}: {rule}")

    def mapping(
        self,
        value: Any,
        key: str,
        *,
        required: set[str] | None = None,
        allowed: set[str] | None = None,
    ) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(key, "must be a mapping")
        prefix = f"{key}." if key else ""
        for name in sorted(required or ()):
            if name not in value:
                raise self.fail(f"{prefix}{name}", "is required")
        if allowed is not None:
            for name in value:
                if name not in allowed:
                    raise self.fail(
                        f"{prefix}{name}", f"unknown key; allowed: {', '.join(sorted(allowed))}"
                    )
        return value

    def string(self, value: Any, key: str) -> str:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)  # `version: 2` is a version, not a number
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, "must be a non-empty string")
        return value.strip()

    def strings(self, value: Any, key: str) -> list[str]:
        if not isinstance(value, list) or not value:
            raise self.fail(key, "must be a non-empty list of strings")
        return [self.string(item, f"{key}[{i}]") for i, item in enumerate(value)]

    def choice(self, value: Any, key: str, choices: tuple[str, ...]) -> str:
        text = self.string(value, key)
        if text not in choices:
            raise self.fail(key, f"must be one of: {', '.join(choices)}")
        return text

    def positive_number(self, value: Any, key: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise self.fail(key, "must be a positive number")
        return float(value)

    def per_language(self, value: Any, key: str, languages: tuple[str, ...]) -> dict[str, str]:
        body = self.mapping(value, key, required=set(languages), allowed=set(languages))
        return {lang: self.string(body[lang], f"{key}.{lang}") for lang in languages}

    def templates(self, value: Any, key: str, languages: tuple[str, ...]) -> dict[str, TemplateRef]:
        body = self.mapping(value, key, required=set(languages), allowed=set(languages))
        out = {}
        for lang in languages:
            t = self.mapping(
                body[lang],
                f"{key}.{lang}",
                required={"name", "language"},
                allowed={"name", "language"},
            )
            name = self.string(t["name"], f"{key}.{lang}.name")
            code = self.string(t["language"], f"{key}.{lang}.language")
            # Meta's rules, as connectors/whatsapp/templates.py applies them at send time: a
            # typo here would otherwise fail only when the first template goes out.
            if not _TEMPLATE_NAME.fullmatch(name):
                raise self.fail(f"{key}.{lang}.name", "lowercase letters, digits and _ only")
            if not _TEMPLATE_LANGUAGE.fullmatch(code):
                raise self.fail(f"{key}.{lang}.language", "must look like 'it' or 'en_US'")
            out[lang] = TemplateRef(name, code)
        return out
