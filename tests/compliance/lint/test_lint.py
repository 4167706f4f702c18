"""The designers' lint: one table of (label, check, fixture, expected findings) over fixture files.

An expected finding is (item, part of the message); a good fixture expects none.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from compliance.lint import checks
from compliance.lint.runner import run_lint

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).parents[3]


def load(name: str) -> dict:
    return yaml.safe_load((FIXTURES / name).read_text(encoding="utf-8"))


def domain_checks(data: dict, file: str) -> list[checks.Finding]:
    return (
        checks.check_responses(data, file)
        + checks.check_button_limits(data, file)
        + checks.check_domain_wiring(data, file)
    )


CASES = [
    ("domain good", domain_checks, "domain_good.yml", []),
    (
        "missing italian",
        domain_checks,
        "domain_missing_italian.yml",
        [("utter_consent_refused", "missing Italian variation")],
    ),
    (
        "missing response",
        domain_checks,
        "domain_missing_response.yml",
        [("utter_data_deleted", "compliance response is missing")],
    ),
    (
        "missing english default",
        domain_checks,
        "domain_missing_english_default.yml",
        [("utter_help", "missing English default")],
    ),
    (
        "reply button too long",
        domain_checks,
        "domain_long_reply_button.yml",
        [("utter_ask_consent[0]", "reply button title 'Yes, I agree to everything' has 26")],
    ),
    (
        "list row too long",
        domain_checks,
        "domain_long_list_row.yml",
        [("utter_order_status[0]", "list row title")],
    ),
    (
        "too many buttons",
        domain_checks,
        "domain_too_many_buttons.yml",
        [("utter_order_status[0]", "11 buttons")],
    ),
    (
        "buttons differ by language",
        domain_checks,
        "domain_buttons_differ.yml",
        [("utter_ask_consent", "English and Italian buttons differ")],
    ),
    (
        "missing action and slot",
        domain_checks,
        "domain_missing_wiring.yml",
        [("action_opt_out", "not listed under actions"), ("opted_out", "not declared")],
    ),
    ("config good", checks.check_policy_config, "config_good.yml", []),
    ("config default priority", checks.check_policy_config, "config_default_priority.yml", []),
    (
        "config without ConsentPolicy",
        checks.check_policy_config,
        "config_missing_policy.yml",
        [("policies", "is not listed")],
    ),
    (
        "RulePolicy at the same priority",
        checks.check_policy_config,
        "config_rule_above.yml",
        [("RulePolicy", "priority 7 is not below")],
    ),
    (
        "custom policy without priority",
        checks.check_policy_config,
        "config_custom_without_priority.yml",
        [("my_package.MyPolicy", "explicit priority")],
    ),
    (
        "ConsentPolicy twice",
        checks.check_policy_config,
        "config_listed_twice.yml",
        [("policies", "more than once")],
    ),
    ("flows good", "flows", "flows_good.yml", []),
    (
        "story: business before consent",
        "flows",
        "flows_business_before_consent.yml",
        [("story 'order without consent'", "business step 'action_order_status'")],
    ),
    (
        "rule without condition",
        "flows",
        "flows_rule_without_condition.yml",
        [("rule 'greet'", "business step 'utter_greet'")],
    ),
    (
        "opt-out ends consent",
        "flows",
        "flows_opt_out_ends_consent.yml",
        [("story 'stop then business'", "business step 'action_order_status'")],
    ),
    ("e2e bot text", "flows", "flows_e2e_bot_text.yml", [("story 'e2e'", "'bot text'")]),
    (
        "condition on another value",
        "flows",
        "flows_condition_other_value.yml",
        [("rule 'wrong condition'", "before consent is confirmed")],
    ),
]


@pytest.mark.parametrize(
    ("check", "fixture", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_checks(check, fixture: str, expected: list[tuple[str, str]]) -> None:
    data = load(fixture)
    if check == "flows":
        findings = checks.check_flows({fixture: data})
    else:
        findings = check(data, fixture)
    assert all(f.file == fixture for f in findings)
    assert len(findings) == len(expected), findings
    for finding, (item, message) in zip(sorted(findings), sorted(expected), strict=True):
        assert finding.item == item and message in finding.message, finding


YES_NO = [{"title": "Yes", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}]
CONFIRM_BUTTON_CASES = [
    # label, responses, expected items with a finding
    ("affirm payload in both languages", {"utter_ask_consent": [{"buttons": YES_NO}] * 2}, []),
    (
        "italian variation with another payload",
        {
            "utter_ask_confirm_consent": [
                {"buttons": YES_NO},
                {"buttons": [{"title": "Sì", "payload": "/yes"}]},
            ]
        },
        ["utter_ask_confirm_consent[1]"],
    ),
    (
        "marketing question without buttons",
        {"utter_ask_marketing_consent": [{"text": "Offers?"}]},
        ["utter_ask_marketing_consent[0]"],
    ),
    ("other responses are not consent questions", {"utter_greet": [{"text": "hi"}]}, []),
]


@pytest.mark.parametrize(
    ("responses", "expected"),
    [c[1:] for c in CONFIRM_BUTTON_CASES],
    ids=[c[0] for c in CONFIRM_BUTTON_CASES],
)
def test_confirm_buttons(responses: dict, expected: list[str]) -> None:
    findings = checks.check_confirm_buttons({"responses": responses})
    assert [f.item for f in findings] == expected
    assert all("/affirm" in f.message for f in findings)


SETTINGS_CASES = [
    ("shipped settings", {}, []),
    (
        "empty opt-in list",
        {
            "keywords": {
                "opt_out": ["STOP"],
                "opt_in": [],
                "marketing_stop": ["STOP MARKETING"],
                "confirm": ["YES"],
            }
        },
        [("keywords.opt_in", "non-empty list")],
    ),
    (
        "no confirmation words",
        {"keywords": {"opt_out": ["STOP"], "opt_in": ["START"], "marketing_stop": ["NO ADS"]}},
        [("keywords.confirm", "is required")],
    ),
    (
        "empty confirmation words",
        {
            "keywords": {
                "opt_out": ["STOP"],
                "opt_in": ["START"],
                "marketing_stop": ["NO ADS"],
                "confirm": [],
            }
        },
        [("keywords.confirm", "non-empty list")],
    ),
    (
        "notice without link",
        {"privacy_notice": {"version": "1"}},
        [("privacy_notice.url", "is required")],
    ),
]


@pytest.mark.parametrize(
    ("override", "expected"), [c[1:] for c in SETTINGS_CASES], ids=[c[0] for c in SETTINGS_CASES]
)
def test_settings_check(override: dict, expected: list[tuple[str, str]]) -> None:
    data = yaml.safe_load((REPO / "bot/compliance.yml").read_text(encoding="utf-8"))
    data.update(override)
    findings = checks.check_settings(data, "bot/compliance.yml")
    assert [(f.item, m in f.message) for f, (_, m) in zip(findings, expected, strict=False)] == [
        (item, True) for item, _ in expected
    ]
    assert len(findings) == len(expected)


def make_project(root: Path, flows: str = "flows_good.yml") -> Path:
    (root / "bot/data").mkdir(parents=True)
    shutil.copy(FIXTURES / "domain_good.yml", root / "domain.yml")
    shutil.copy(FIXTURES / "config_good.yml", root / "config.yml")
    shutil.copy(REPO / "bot/compliance.yml", root / "bot/compliance.yml")
    shutil.copy(FIXTURES / flows, root / "bot/data" / flows)
    return root


def test_runner_clean_project(tmp_path: Path) -> None:
    assert run_lint(make_project(tmp_path)) == []


def test_runner_names_missing_files(tmp_path: Path) -> None:
    findings = run_lint(tmp_path)
    assert {(f.file, f.message) for f in findings} >= {
        ("domain.yml", "missing"),
        ("config.yml", "missing"),
        ("bot/compliance.yml", "missing"),
    }


@pytest.mark.parametrize(
    ("flows", "code"), [("flows_good.yml", 0), ("flows_business_before_consent.yml", 1)]
)
def test_cli_exit_code(tmp_path: Path, flows: str, code: int) -> None:
    root = make_project(tmp_path, flows)
    result = subprocess.run(
        [sys.executable, "-m", "compliance", "lint", "--root", str(root)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert result.returncode == code, result.stderr
    if code:
        assert "bot/data/flows_business_before_consent.yml: story 'order without consent'" in (
            result.stdout
        )


def test_rasa_default_priorities_are_pinned() -> None:
    from rasa.core import constants

    assert checks.RASA_DEFAULT_PRIORITIES["RulePolicy"] == constants.RULE_POLICY_PRIORITY
    assert checks.RASA_DEFAULT_PRIORITIES["MemoizationPolicy"] == (
        constants.MEMOIZATION_POLICY_PRIORITY
    )
    assert checks.RASA_DEFAULT_PRIORITIES["UnexpecTEDIntentPolicy"] == (
        constants.UNLIKELY_INTENT_POLICY_PRIORITY
    )
    assert checks.RASA_DEFAULT_PRIORITIES["TEDPolicy"] == constants.DEFAULT_POLICY_PRIORITY
