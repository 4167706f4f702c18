"""ConsentPolicy against the predictions that could overrule a plain policy, through Rasa's own
DefaultPolicyPredictionEnsemble: a RulePolicy loop happy path (is_no_user_prediction), a rule
matched on text (is_end_to_end_prediction), TED in end-to-end mode, MemoizationPolicy at 1.0."""

from __future__ import annotations

import pytest
from rasa.core.policies.ensemble import DefaultPolicyPredictionEnsemble
from rasa.core.policies.policy import PolicyPrediction, confidence_scores_for
from rasa.core.policies.rule_policy import RulePolicy
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource

CONFIRMED = {
    "consent_state_service": "confirmed",
    "opted_out": False,
    "notice_version_accepted": "2025-01",
}


@pytest.fixture
def rule_policy(tmp_path) -> RulePolicy:
    return RulePolicy.create(
        RulePolicy.get_default_config(),
        LocalModelStorage(tmp_path),
        Resource("rules"),
        ExecutionContext(GraphSchema({}), "test"),
    )


def rivals(domain, rule_policy: RulePolicy) -> dict[str, PolicyPrediction]:
    # Shapes exactly as RulePolicy._rule_prediction / TEDPolicy build them.
    return {
        "loop happy path": rule_policy._rule_prediction(  # noqa: SLF001
            confidence_scores_for("order_form", 1.0, domain), "loop", is_no_user_prediction=True
        ),
        "rule from text": rule_policy._rule_prediction(  # noqa: SLF001
            confidence_scores_for("utter_order_status", 1.0, domain),
            "text",
            is_end_to_end_prediction=True,
        ),
        "ted e2e": PolicyPrediction(
            confidence_scores_for("action_order_status", 0.99, domain),
            "TEDPolicy",
            1,
            is_end_to_end_prediction=True,
        ),
        "memoization": PolicyPrediction(
            confidence_scores_for("utter_greet", 1.0, domain), "MemoizationPolicy", 3
        ),
    }


CASES = [
    (
        "no consent, inside a form",
        [("loop", "order_form"), ("user", "order_status", "A12")],
        {},
        "action_consent_step",
    ),
    (
        "STOP inside a form",
        [("loop", "order_form"), ("user", "order_status", "stop")],
        CONFIRMED,
        "action_opt_out",
    ),
    (
        "opted out, business",
        [("user", "order_status", "A12")],
        {"opted_out": True, "consent_state_service": "withdrawn"},
        "action_listen",
    ),
]


@pytest.mark.parametrize(
    ("turns", "slots", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
@pytest.mark.parametrize(
    "rival", ["loop happy path", "rule from text", "ted e2e", "memoization", "all together"]
)
def test_consent_policy_wins(
    policy, rule_policy, domain, make_tracker, turns, slots, expected, rival
) -> None:
    tracker = make_tracker(turns, slots)
    others = rivals(domain, rule_policy)
    chosen = list(others.values()) if rival == "all together" else [others[rival]]
    ours = policy.predict_action_probabilities(tracker, domain)
    for order in ([ours, *chosen], [*chosen, ours]):
        best = DefaultPolicyPredictionEnsemble().combine_predictions(order, tracker, domain)
        assert domain.action_names_or_texts[best.max_confidence_index] == expected
        assert best.policy_name == "ConsentPolicy"


def test_abstention_leaves_the_choice_to_the_others(
    policy, rule_policy, domain, make_tracker
) -> None:
    tracker = make_tracker([("loop", "order_form"), ("user", "order_status", "A12")], CONFIRMED)
    ours = policy.predict_action_probabilities(tracker, domain)
    others = list(rivals(domain, rule_policy).values())
    best = DefaultPolicyPredictionEnsemble().combine_predictions([ours, *others], tracker, domain)
    assert domain.action_names_or_texts[best.max_confidence_index] == "order_form"
    assert best.policy_name == "RulePolicy"
