"""ConsentPolicy (the Rasa policy) and its pure decision table.

config.yml names the policy `compliance.policy.ConsentPolicy`. The policy class is imported
lazily (PEP 562 module __getattr__): importing it loads Rasa and TensorFlow, which the lint and
the channel, who only need the decision table, should not pay for. Rasa's
class_from_module_path uses getattr on this module, so the lazy name resolves for it too.
"""

from __future__ import annotations

from typing import Any

from compliance.policy.decision import (
    ALLOWED_BEFORE_CONSENT,
    CONSENT_ACTIONS,
    CONSENT_RESPONSES,
    Abstain,
    ConsentView,
    Keep,
    Overrule,
    Run,
    decide,
    review,
)

__all__ = [
    "ALLOWED_BEFORE_CONSENT",
    "CONSENT_ACTIONS",
    "CONSENT_POLICY_PRIORITY",
    "CONSENT_RESPONSES",
    "Abstain",
    "ConsentPolicy",
    "ConsentView",
    "Keep",
    "Overrule",
    "Run",
    "decide",
    "review",
]

_LAZY = {"ConsentPolicy", "CONSENT_POLICY_PRIORITY"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from compliance.policy import consent_policy

        return getattr(consent_policy, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
