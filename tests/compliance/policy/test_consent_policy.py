"""ConsentPolicy tested Rasa's way: hand-built trackers over a small test domain."""

from __future__ import annotations

from typing import Any

import pytest
from rasa.core.policies.policy import InvalidPolicyConfig

CONFIRMED = {
    "consent_state_service": "confirmed",
    "opted_out": False,
    "notice_version_accepted": "2025-01",
}

L = ("bot", "action_listen")

CASES: list[tuple[str, list[Any], dict[str, Any], str | None]] = [
    ("first message of a new user", [("user", "greet", "hi")], {}, "action_consent_step"),
    (
        "business intent before consent",
        [("user", "order_status", "where is A12")],
        {},
        "action_consent_step",
    ),
    ("help before consent", [("user", "help", "help")], {}, "utter_help"),
    (
        "after the consent step the bot listens",
        [("user", "greet", "hi"), ("bot", "action_consent_step")],
        {},
        "action_listen",
    ),
    (
        "STOP keyword, confirmed user",
        [("user", "order_status", "STOP!")],
        CONFIRMED,
        "action_opt_out",
    ),
    (
        "ANNULLA keyword, NLU misread it",
        [("user", "greet", "annulla")],
        CONFIRMED,
        "action_opt_out",
    ),
    (
        "a sentence with stop is business",
        [("user", "order_status", "stop the delivery of order A12")],
        CONFIRMED,
        None,
    ),
    ("confirmed business: abstain", [("user", "order_status", "where is A12")], CONFIRMED, None),
    (
        "confirmed, mid-turn business: abstain",
        [("user", "order_status", "where"), ("bot", "action_order_status")],
        CONFIRMED,
        None,
    ),
    (
        "old notice version: ask again",
        [("user", "order_status", "where")],
        {**CONFIRMED, "notice_version_accepted": "2024-01"},
        "action_consent_step",
    ),
    (
        "opted out: silence",
        [("user", "order_status", "where")],
        {"opted_out": True, "consent_state_service": "withdrawn"},
        "action_listen",
    ),
    (
        "opted out: START",
        [("user", "greet", "start")],
        {"opted_out": True, "consent_state_service": "withdrawn"},
        "action_opt_in",
    ),
    (
        "privacy at any time",
        [("user", "ask_privacy", "informativa")],
        CONFIRMED,
        "action_privacy_notice",
    ),
    (
        "erasure confirmation answered",
        [
            ("user", "delete_my_data", "delete me"),
            ("bot", "action_data_erase"),
            L,
            ("user", "affirm", "yes"),
        ],
        CONFIRMED,
        "action_data_erase",
    ),
    (
        "noise after the erasure question goes to the action, which asks again",
        [
            ("user", "delete_my_data", "delete me"),
            ("bot", "action_data_erase"),
            L,
            ("user", "affirm", "??"),
        ],
        CONFIRMED,
        "action_data_erase",
    ),
    (
        "the tap after the erasure question was asked again",
        [
            ("user", "delete_my_data", "delete me"),
            ("bot", "action_data_erase"),
            L,
            ("user", "affirm", "??"),
            ("bot", "action_data_erase"),
            L,
            ("user", "affirm", "/affirm"),
        ],
        CONFIRMED,
        "action_data_erase",
    ),
    (
        "yes after a finished erasure is not a confirmation",
        [
            ("user", "delete_my_data", "delete me"),
            ("bot", "action_data_erase"),
            L,
            ("user", "affirm", "yes"),
            ("bot", "action_data_erase"),
            L,
            ("user", "affirm", "yes"),
        ],
        {"consent_state_service": "erased"},
        "action_consent_step",
    ),
    (
        "old notice, marketing confirmed too: ask again",
        [("user", "order_status", "where")],
        {**CONFIRMED, "notice_version_accepted": "2024-01", "consent_state_marketing": "confirmed"},
        "action_consent_step",
    ),
    (
        "marketing question answered right after the consent step",
        [
            ("user", "affirm", "/affirm"),
            ("bot", "action_consent_step"),
            L,
            ("user", "affirm", "/affirm"),
        ],
        {**CONFIRMED, "consent_state_marketing": "asked"},
        "action_consent_step",
    ),
    (
        "marketing confirmation refused right after the consent step",
        [
            ("user", "affirm", "/affirm"),
            ("bot", "action_consent_step"),
            L,
            ("user", "deny", "/deny"),
        ],
        {**CONFIRMED, "consent_state_marketing": "awaiting_confirmation"},
        "action_consent_step",
    ),
    (
        "a yes after the order answer is not a marketing answer",
        [
            ("user", "affirm", "/affirm"),
            ("bot", "action_consent_step"),
            L,
            ("user", "order_status", "where"),
            ("bot", "action_order_status"),
            L,
            ("user", "affirm", "yes"),
        ],
        {**CONFIRMED, "consent_state_marketing": "asked"},
        None,
    ),
    (
        "refused: nothing more",
        [("user", "order_status", "where")],
        {"consent_state_service": "refused"},
        "action_listen",
    ),
    # What counts as yes is read from the tracker's text (compliance/consent/answers.py).
    (
        "opted out, '??' the NLU calls affirm: silence",
        [("user", "affirm", "??")],
        {"opted_out": True, "consent_state_service": "withdrawn"},
        "action_listen",
    ),
    (
        "opted out, the confirmation template's tap: the consent step",
        [("user", "affirm", "/affirm")],
        {"opted_out": True, "consent_state_service": "withdrawn"},
        "action_consent_step",
    ),
    (
        "refused, a typed confirmation word: the consent step",
        [("user", "affirm", "Confermo")],
        {"consent_state_service": "refused"},
        "action_consent_step",
    ),
    (
        "marketing question, an emoji the NLU calls affirm: asked again by the consent step",
        [
            ("user", "affirm", "/affirm"),
            ("bot", "action_consent_step"),
            L,
            ("user", "affirm", "🙂"),
        ],
        {**CONFIRMED, "consent_state_marketing": "asked"},
        "action_consent_step",
    ),
]


@pytest.mark.parametrize(
    ("turns", "slots", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_predictions(policy, domain, make_tracker, turns, slots, expected) -> None:
    tracker = make_tracker(turns, slots)
    prediction = policy.predict_action_probabilities(tracker, domain)
    if expected is None:
        assert prediction.max_confidence == 0.0
        assert not prediction.is_no_user_prediction and not prediction.is_end_to_end_prediction
        return
    assert domain.action_names_or_texts[prediction.max_confidence_index] == expected
    assert prediction.max_confidence == 1.0
    assert prediction.is_no_user_prediction is True
    assert prediction.is_end_to_end_prediction is False
    assert prediction.policy_priority == 7


def test_missing_action_in_domain_falls_back_to_silence(policy, domain) -> None:
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    small = Domain.from_dict({"intents": ["greet"], "actions": []})
    events = [ActionExecuted("action_listen"), UserUttered("hi", {"name": "greet"})]
    tracker = DialogueStateTracker.from_events("wa_t", events, small.slots)
    prediction = policy.predict_action_probabilities(tracker, small)
    assert small.action_names_or_texts[prediction.max_confidence_index] == "action_listen"


CONFIG_ERRORS = [
    ("priority equal to RulePolicy's", {"priority": 4}, "priority: must be above"),
    ("priority not an int", {"priority": "7"}, "priority: must be an integer"),
    ("unknown key", {"max_history": 5}, "unknown key(s) max_history"),
    (
        "missing compliance file",
        {"compliance_file": "/nonexistent/compliance.yml"},
        "compliance_file: /nonexistent/compliance.yml: cannot read",
    ),
]


@pytest.mark.parametrize(
    ("config", "message"), [c[1:] for c in CONFIG_ERRORS], ids=[c[0] for c in CONFIG_ERRORS]
)
def test_invalid_config(make_policy, config, message) -> None:
    with pytest.raises(InvalidPolicyConfig) as info:
        make_policy(**config)
    assert message in str(info.value)


def test_registered_under_its_config_name() -> None:
    from rasa.engine.recipes.default_recipe import DefaultV1Recipe

    from compliance.policy.consent_policy import ConsentPolicy

    registered = DefaultV1Recipe._from_registry("compliance.policy.ConsentPolicy")  # noqa: SLF001
    assert registered.clazz is ConsentPolicy and registered.is_trainable
    assert DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT in registered.types


def test_train_is_a_no_op_and_load_round_trips(policy, domain, make_tracker, tmp_path) -> None:
    from rasa.engine.graph import ExecutionContext, GraphSchema
    from rasa.engine.storage.local_model_storage import LocalModelStorage

    from compliance.policy.consent_policy import ConsentPolicy

    resource = policy.train([], domain)
    loaded = ConsentPolicy.load(
        dict(policy.config),
        LocalModelStorage(tmp_path),
        resource,
        ExecutionContext(GraphSchema({}), "test"),
    )
    tracker = make_tracker([("user", "greet", "hi")])
    assert loaded.predict_action_probabilities(tracker, domain).max_confidence == 1.0


def test_the_environment_names_the_same_settings_file_as_the_channel(
    make_policy, tmp_path, monkeypatch
) -> None:
    """SIGILLO_COMPLIANCE_FILE wins over compliance_file: one notice version for all."""
    from pathlib import Path

    text = Path("bot/compliance.yml").read_text(encoding="utf-8")
    other = tmp_path / "compliance.yml"
    other.write_text(text.replace('version: "2025-01"', 'version: "2031-07"'), encoding="utf-8")
    monkeypatch.setenv("SIGILLO_COMPLIANCE_FILE", str(other))
    assert make_policy().settings.notice_version == "2031-07"
    monkeypatch.setenv("SIGILLO_COMPLIANCE_FILE", str(tmp_path / "missing.yml"))
    with pytest.raises(InvalidPolicyConfig) as info:
        make_policy()
    assert str(info.value).startswith("SIGILLO_COMPLIANCE_FILE: ")


@pytest.mark.parametrize(
    ("text", "awaiting", "expected", "looked_up"),
    [
        # The Confirm tap of the opt-in template, an opt-in to offers awaiting it in the ledger.
        ("/affirm", True, "action_consent_step", True),
        # The same tap with nothing awaiting: the business flow answers, as for any subscriber.
        ("/affirm", False, None, True),
        # Noise the NLU calls affirm is no confirmation: the ledger is not even read.
        ("??", True, None, False),
    ],
)
def test_a_subscriber_confirms_an_opt_in_made_outside_the_chat(
    policy, domain, make_tracker, monkeypatch, text, awaiting, expected, looked_up
) -> None:
    asked: list[str] = []

    def lookup(subject: str) -> bool:
        asked.append(subject)
        return awaiting

    monkeypatch.setattr(policy, "optin_lookup", lookup)
    tracker = make_tracker([("user", "affirm", text)], CONFIRMED)
    prediction = policy.predict_action_probabilities(tracker, domain)
    assert bool(asked) is looked_up
    if expected is None:
        assert prediction.max_confidence == 0.0
    else:
        assert domain.action_names_or_texts[prediction.max_confidence_index] == expected


def test_a_ledger_that_cannot_be_read_leaves_the_tap_to_the_other_policies(
    policy, domain, make_tracker, monkeypatch
) -> None:
    def broken(subject: str) -> bool:
        raise ConnectionError("database down")

    monkeypatch.setattr(policy, "optin_lookup", broken)
    tracker = make_tracker([("user", "affirm", "/affirm")], CONFIRMED)
    assert policy.predict_action_probabilities(tracker, domain).max_confidence == 0.0
