"""The designers' lint: one pure function per check over already-loaded YAML.

Each check returns Findings naming the file and the item, so a designer can fix the flow
without training a model. "Consent-confirmed before business" is defined precisely in
check_flows' docstring.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from compliance.consent.answers import AFFIRM_PAYLOAD
from compliance.consent.settings import parse_settings
from compliance.errors import ConfigError
from compliance.policy.decision import (
    ALLOWED_BEFORE_CONSENT,
    COMPLIANCE_RESPONSES,
    CONSENT_ACTIONS,
    SLOT_MARKETING,
    SLOT_NOTICE_VERSION,
    SLOT_OPTED_OUT,
    SLOT_SERVICE,
)
from connectors.whatsapp.limits import (
    LIST_ROW_TITLE_MAX,
    LIST_ROWS_MAX,
    REPLY_BUTTON_TITLE_MAX,
    REPLY_BUTTONS_MAX,
)

# Every response the compliance flows send; each needs English (default) and Italian.
CONSENT_SLOTS = (SLOT_SERVICE, SLOT_MARKETING, SLOT_OPTED_OUT, SLOT_NOTICE_VERSION)
# Actions and responses that are part of the consent flow: they may appear before consent.
CONSENT_FLOW = ALLOWED_BEFORE_CONSENT | set(COMPLIANCE_RESPONSES)

POLICY_NAMES = {"compliance.policy.ConsentPolicy", "compliance.policy.consent_policy.ConsentPolicy"}
CONSENT_POLICY_DEFAULT_PRIORITY = 7
# Rasa 3.6 default priorities (rasa/core/constants.py); tests pin them against Rasa's values.
RASA_DEFAULT_PRIORITIES = {
    "RulePolicy": 4,
    "MemoizationPolicy": 3,
    "AugmentedMemoizationPolicy": 3,
    "UnexpecTEDIntentPolicy": 2,
    "TEDPolicy": 1,
}
ITALIAN = {"type": "slot", "name": "language", "value": "it"}
# The consent questions: a tap on their Yes / Confirm button must send AFFIRM_PAYLOAD, the only
# tap the consent flow takes as consent (compliance/consent/answers.py).
CONSENT_QUESTIONS = (
    "utter_ask_consent",
    "utter_ask_confirm_consent",
    "utter_ask_marketing_consent",
    "utter_ask_confirm_marketing",
)


@dataclass(frozen=True, order=True)
class Finding:
    file: str
    item: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.item}: {self.message}"


def check_responses(domain: Mapping[str, Any], file: str = "domain.yml") -> list[Finding]:
    """Each compliance response has an English default and an Italian `language == it` variation
    with text, and both offer the same buttons (payloads), so the flow is the same in each."""
    responses = domain.get("responses") or {}
    findings = []
    for name in COMPLIANCE_RESPONSES:
        variations = responses.get(name)
        if not variations:
            findings.append(Finding(file, name, "compliance response is missing"))
            continue
        default = [v for v in variations if isinstance(v, dict) and not v.get("condition")]
        italian = [v for v in variations if isinstance(v, dict) and _is_italian(v)]
        for label, found in (
            ("English default (no condition)", default),
            ("Italian variation (condition: slot language == it)", italian),
        ):
            if not found:
                findings.append(Finding(file, name, f"missing {label}"))
            elif not any(str(v.get("text") or "").strip() for v in found):
                findings.append(Finding(file, name, f"{label} has no text"))
        if default and italian and _payloads(default[0]) != _payloads(italian[0]):
            findings.append(Finding(file, name, "English and Italian buttons differ (payloads)"))
    return findings


def _is_italian(variation: Mapping[str, Any]) -> bool:
    condition = variation.get("condition") or []
    return any(isinstance(c, dict) and c == ITALIAN for c in condition)


def _payloads(variation: Mapping[str, Any]) -> list[str]:
    return [str(b.get("payload")) for b in variation.get("buttons") or [] if isinstance(b, dict)]


def check_button_limits(domain: Mapping[str, Any], file: str = "domain.yml") -> list[Finding]:
    """Buttons fit WhatsApp: up to 3 render as reply buttons (titles <= 20 characters), up to 10
    as a list (row titles <= 24); more cannot be sent interactively at all."""
    findings = []
    for name, variations in sorted((domain.get("responses") or {}).items()):
        for index, variation in enumerate(variations or []):
            buttons = variation.get("buttons") if isinstance(variation, dict) else None
            if not buttons:
                continue
            item = f"{name}[{index}]"
            if len(buttons) > LIST_ROWS_MAX:
                findings.append(
                    Finding(
                        file,
                        item,
                        f"{len(buttons)} buttons; WhatsApp lists hold at most {LIST_ROWS_MAX}",
                    )
                )
                continue
            limit, kind = (
                (REPLY_BUTTON_TITLE_MAX, "reply button")
                if len(buttons) <= REPLY_BUTTONS_MAX
                else (LIST_ROW_TITLE_MAX, "list row")
            )
            for button in buttons:
                title = str(button.get("title", "")) if isinstance(button, dict) else ""
                if not title.strip():
                    findings.append(Finding(file, item, "button without a title"))
                elif len(title) > limit:
                    findings.append(
                        Finding(
                            file,
                            item,
                            f"{kind} title {title!r} has {len(title)} characters; max {limit}",
                        )
                    )
    return findings


def check_confirm_buttons(domain: Mapping[str, Any], file: str = "domain.yml") -> list[Finding]:
    """Every variation of a consent question offers a button with the payload the consent flow
    takes as yes; another payload ("/yes") would make every tap a question asked again."""
    responses = domain.get("responses") or {}
    findings = []
    for name in CONSENT_QUESTIONS:
        for index, variation in enumerate(responses.get(name) or []):
            if isinstance(variation, dict) and AFFIRM_PAYLOAD not in _payloads(variation):
                findings.append(
                    Finding(
                        file,
                        f"{name}[{index}]",
                        f"no button with payload {AFFIRM_PAYLOAD!r}: no tap can give consent",
                    )
                )
    return findings


def check_domain_wiring(domain: Mapping[str, Any], file: str = "domain.yml") -> list[Finding]:
    """The consent actions and slots ConsentPolicy predicts and reads are declared."""
    actions = set(domain.get("actions") or [])
    slots = domain.get("slots") or {}
    findings = [
        Finding(file, a, "consent action not listed under actions")
        for a in sorted(CONSENT_ACTIONS - actions)
    ]
    findings += [
        Finding(file, s, "consent slot not declared under slots")
        for s in CONSENT_SLOTS
        if s not in slots
    ]
    return findings


def check_settings(data: Any, file: str = "bot/compliance.yml") -> list[Finding]:
    """Keyword lists, purposes, notice version and link, templates: the settings validator's
    verdict, as a finding instead of a start-up failure."""
    try:
        parse_settings(data, file)
    except ConfigError as exc:
        message = str(exc)
        prefix = f"{file}: "
        body = message[len(prefix) :] if message.startswith(prefix) else message
        item, _, rule = body.partition(": ")
        return [Finding(file, item, rule or body)]
    return []


def check_policy_config(config: Mapping[str, Any], file: str = "config.yml") -> list[Finding]:
    """config.yml lists ConsentPolicy once, with a priority above every other policy's."""
    policies = [p for p in config.get("policies") or [] if isinstance(p, dict)]
    ours = [p for p in policies if p.get("name") in POLICY_NAMES]
    if not ours:
        return [Finding(file, "policies", "compliance.policy.ConsentPolicy is not listed")]
    if len(ours) > 1:
        return [Finding(file, "policies", "ConsentPolicy is listed more than once")]
    priority = ours[0].get("priority", CONSENT_POLICY_DEFAULT_PRIORITY)
    findings = []
    for policy in policies:
        name = str(policy.get("name"))
        if policy is ours[0]:
            continue
        other = policy.get("priority", RASA_DEFAULT_PRIORITIES.get(name.rsplit(".", 1)[-1]))
        if other is None:
            findings.append(Finding(file, name, "set an explicit priority (below ConsentPolicy's)"))
        elif other >= priority:
            findings.append(
                Finding(file, name, f"priority {other} is not below ConsentPolicy's {priority}")
            )
    return findings


def check_flows(files: Mapping[str, Any]) -> list[Finding]:
    """Every story and rule that sends a business message does so after consent is confirmed.

    Definition. A step sends a business message when it is an `action:` not in the consent flow
    (CONSENT_FLOW: the consent actions, the compliance responses, help, and Rasa's silent
    defaults) or a `bot:` text. Consent counts as confirmed from the point where the story or
    rule has `slot_was_set: consent_state_service: confirmed`, either as a step or in a rule's
    `condition`; a later step setting that slot to anything else, or `opted_out: true`, ends it.
    Checkpoints are not followed: a story continuing from a checkpoint must re-state the slot.
    One finding per story or rule: its first business step before consent.
    """
    findings = []
    for file, data in sorted(files.items()):
        if not isinstance(data, dict):
            continue
        for kind in ("stories", "rules"):
            for entry in data.get(kind) or []:
                if isinstance(entry, dict):
                    finding = _check_flow(file, kind[:-1] if kind == "rules" else "story", entry)
                    if finding is not None:
                        findings.append(finding)
    return findings


def _check_flow(file: str, kind: str, entry: Mapping[str, Any]) -> Finding | None:
    name = entry.get(kind if kind == "story" else "rule") or "(unnamed)"
    confirmed = _confirms(entry.get("condition") or [])
    for step in entry.get("steps") or []:
        if not isinstance(step, dict):
            continue
        if "slot_was_set" in step:
            confirmed = _confirms(_as_steps(step["slot_was_set"]), confirmed)
        business = step.get("action") if "action" in step else None
        if business in CONSENT_FLOW:
            business = None
        if "bot" in step:
            business = "bot text"
        if business and not confirmed:
            return Finding(
                file,
                f"{kind} '{name}'",
                f"business step '{business}' before consent is confirmed (add "
                f"slot_was_set {SLOT_SERVICE}: confirmed before it, or a condition)",
            )
    return None


def _as_steps(slots: Any) -> list[dict]:
    items = slots if isinstance(slots, list) else [slots]
    return [{"slot_was_set": [i]} for i in items]


def _confirms(steps: Iterable[Any], current: bool = False) -> bool:
    for step in steps:
        if not isinstance(step, dict):
            continue
        for item in step.get("slot_was_set") or []:
            pairs = item.items() if isinstance(item, dict) else [(item, None)]
            for slot, value in pairs:
                if slot == SLOT_SERVICE:
                    current = value == "confirmed"
                elif slot == SLOT_OPTED_OUT and value is True:
                    current = False
    return current
