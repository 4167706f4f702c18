"""ConsentPolicy: the Rasa 3.6 policy that no learned policy, rule or loop can overrule.

config.yml:
    policies:
      - name: compliance.policy.ConsentPolicy
        priority: 7                              # default; must exceed every other policy's
        compliance_file: bot/compliance.yml      # default; read at start-up, not at training

SIGILLO_COMPLIANCE_FILE, when set, wins over compliance_file: the channel, the action server and
the CLI read that variable (compliance/context.py), and a policy reading another file would hold
another notice version, asking again where the send guard already allows, or the reverse.

Why it always wins when it speaks. DefaultPolicyPredictionEnsemble._pick_best_policy
(rasa/core/policies/ensemble.py) does not compare confidences first: if ANY prediction is
`is_no_user_prediction` (RulePolicy's active-loop happy path), only those are considered; else,
if any is `is_end_to_end_prediction` (RulePolicy from text, TED in e2e mode), only those are;
only then (max confidence, priority) decides. A plain confidence-1.0 prediction would thus lose to
a form's happy path or to an end-to-end rule. So whenever consent requires an action we flag the
prediction `is_no_user_prediction=True`: it joins the first class, where its (1.0, priority 7)
beats RulePolicy's loop prediction (1.0, 4) and anything else that can be in that class. We do
not set `is_end_to_end_prediction`: it would make the processor run action_extract_slots twice
and add DefinePrevUserUtteredFeaturization(True). Featurization is unaffected by the no-user flag
(it only steers the ensemble). When consent has nothing to say we return all zeros, which never
wins while another policy predicts anything, and carries no flag that could exclude the others.

Registered WITHOUT end-to-end support on purpose: that type only makes the recipe feed
precomputed text features to the policy (and build the e2e featurization graph for it); we read
`tracker.latest_message.text` ourselves for keyword matching and need no features.
Training is a no-op: the behaviour is the decision table in decision.py.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from pathlib import Path
from typing import Any

from rasa.core.constants import POLICY_PRIORITY, RULE_POLICY_PRIORITY
from rasa.core.featurizers.tracker_featurizers import TrackerFeaturizer
from rasa.core.policies.policy import (
    InvalidPolicyConfig,
    Policy,
    PolicyPrediction,
    confidence_scores_for,
)
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.generator import TrackerWithCachedStates
from rasa.shared.core.trackers import DialogueStateTracker

from compliance.consent.answers import consent_answer
from compliance.consent.keywords import classify
from compliance.consent.settings import ComplianceSettings, load_settings
from compliance.errors import ConfigError
from compliance.policy import decision
from compliance.policy.decision import Abstain, ConsentView

logger = logging.getLogger(__name__)

CONSENT_POLICY_PRIORITY = 7
COMPLIANCE_FILE = "compliance_file"
ENV_COMPLIANCE_FILE = "SIGILLO_COMPLIANCE_FILE"  # same variable as compliance/context.py


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=True
)
class ConsentPolicy(Policy):
    """Before confirmed double opt-in only the consent flow runs; opt-out pre-empts everything."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {POLICY_PRIORITY: CONSENT_POLICY_PRIORITY, COMPLIANCE_FILE: "bot/compliance.yml"}

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        featurizer: TrackerFeaturizer | None = None,
    ) -> None:
        config = {**self.get_default_config(), **config}
        super().__init__(config, model_storage, resource, execution_context, featurizer)
        self.settings = self._validate(config)

    @staticmethod
    def _validate(config: dict[str, Any]) -> ComplianceSettings:
        priority = config[POLICY_PRIORITY]
        if isinstance(priority, bool) or not isinstance(priority, int):
            raise InvalidPolicyConfig(f"ConsentPolicy.{POLICY_PRIORITY}: must be an integer")
        if priority <= RULE_POLICY_PRIORITY:
            raise InvalidPolicyConfig(
                f"ConsentPolicy.{POLICY_PRIORITY}: must be above RulePolicy's "
                f"({RULE_POLICY_PRIORITY}) and every other policy's; got {priority}"
            )
        unknown = set(config) - {POLICY_PRIORITY, COMPLIANCE_FILE}
        if unknown:
            raise InvalidPolicyConfig(
                f"ConsentPolicy: unknown key(s) {', '.join(sorted(unknown))}; "
                f"allowed: {POLICY_PRIORITY}, {COMPLIANCE_FILE}"
            )
        path = config[COMPLIANCE_FILE]
        if not isinstance(path, str) or not path:
            raise InvalidPolicyConfig(f"ConsentPolicy.{COMPLIANCE_FILE}: must be a file path")
        override = os.environ.get(ENV_COMPLIANCE_FILE, "").strip()
        source = ENV_COMPLIANCE_FILE if override else f"ConsentPolicy.{COMPLIANCE_FILE}"
        try:
            return load_settings(Path(override or path))
        except ConfigError as exc:
            raise InvalidPolicyConfig(f"{source}: {exc}") from exc

    def train(
        self, training_trackers: list[TrackerWithCachedStates], domain: Domain, **kwargs: Any
    ) -> Resource:
        """Nothing to learn; an empty resource lets Rasa load the policy like any other."""
        with self._model_storage.write_to(self._resource):
            pass
        return self._resource

    def predict_action_probabilities(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> PolicyPrediction:
        view = self.view_of(tracker)
        choice = decision.decide(view)
        if isinstance(choice, Abstain):
            return self._prediction(self._default_predictions(domain))
        action = choice.action
        if action not in domain.action_names_or_texts:
            # The domain lacks a consent action (the compliance lint reports it): silence is the
            # only safe answer.
            logger.error("consent.policy.action_missing_from_domain action=%s", action)
            action = ACTION_LISTEN_NAME
        logger.debug("consent.policy.predict action=%s reason=%s", action, choice.reason)
        return self._prediction(
            confidence_scores_for(action, 1.0, domain),
            is_no_user_prediction=True,  # see the module docstring: this is how it always wins
            diagnostic_data={"consent_reason": choice.reason},
        )

    def view_of(self, tracker: DialogueStateTracker) -> ConsentView:
        """The consent facts of `tracker` (never logs the text); the ledger is read only for
        the one case the slots cannot show (ConsentView.needs_optin_lookup)."""
        latest = tracker.latest_message
        has_user_message = latest is not None and bool(latest.intent or latest.text)
        at_user_turn = tracker.latest_action_name == ACTION_LISTEN_NAME and has_user_message
        text = latest.text if latest is not None else None
        intent = (latest.intent or {}).get("name") if latest is not None else None
        view = ConsentView(
            service_state=_slot_str(tracker, decision.SLOT_SERVICE),
            opted_out=bool(tracker.get_slot(decision.SLOT_OPTED_OUT)),
            notice_version_accepted=_slot_str(tracker, decision.SLOT_NOTICE_VERSION),
            current_notice_version=self.settings.notice_version,
            latest_intent=intent,
            keyword=classify(text, self.settings.keywords),
            at_user_turn=at_user_turn,
            latest_action=None if at_user_turn else tracker.latest_action_name,
            pending_question=_pending_question(tracker) if at_user_turn else None,
            marketing_state=_slot_str(tracker, decision.SLOT_MARKETING),
            answer=consent_answer(intent, text, self.settings.keywords),
        )
        if view.needs_optin_lookup:
            view = dataclasses.replace(view, optin_awaiting=self._optin_awaiting(tracker.sender_id))
        return view

    def _optin_awaiting(self, subject: str) -> bool:
        """Whether the ledger holds an opt-in awaiting `subject`'s confirmation. A database
        fault answers False: the tap is then handled as any other yes, and nothing is sent
        that consent does not allow (the send guard checks again)."""
        try:
            return self.optin_lookup(subject)
        except Exception as exc:  # noqa: BLE001 - a read for routing only; never fail a turn
            logger.warning("consent.policy.optin_lookup_failed error=%s", type(exc).__name__)
            return False

    def optin_lookup(self, subject: str) -> bool:
        """The ledger of this process (compliance.context), read on demand; tests replace it."""
        from compliance.consent.model import ConsentState
        from compliance.context import shared_context

        records = shared_context(os.environ, "rasa").ledger.records(subject)
        return any(r.state is ConsentState.AWAITING_CONFIRMATION for r in records.values())


def _slot_str(tracker: DialogueStateTracker, name: str) -> str | None:
    value = tracker.slots[name].value if name in tracker.slots else None
    return None if value is None else str(value)


def _pending_question(tracker: DialogueStateTracker) -> str | None:
    """The consent action whose question the current user message answers, else None.

    Walk back from the current user message: the last bot action before it, and the user
    message that action answered. The erasure action asks when it answered delete_my_data (or
    asked again after a doubtful yes);
    the consent step asks a question whenever it speaks (decision.ConsentView.pending_question).
    """
    events = list(tracker.events)
    seen_current_user = False
    last_bot_action = None
    for event in reversed(events):
        if isinstance(event, UserUttered):
            if not seen_current_user:
                seen_current_user = True
                continue
            if last_bot_action == decision.ACTION_DATA_ERASE:
                service_state = _slot_str(tracker, decision.SLOT_SERVICE)
                asked = decision.erase_question_stands(event.intent_name, service_state)
                return last_bot_action if asked else None
            if last_bot_action == decision.ACTION_CONSENT_STEP:
                return last_bot_action
            return None
        if seen_current_user and isinstance(event, ActionExecuted):
            if event.action_name != ACTION_LISTEN_NAME and last_bot_action is None:
                last_bot_action = event.action_name
    return None
