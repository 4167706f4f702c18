"""The designers' lint for the compliance flows (`python -m compliance lint`)."""

from __future__ import annotations

from compliance.lint.checks import COMPLIANCE_RESPONSES, CONSENT_FLOW, Finding
from compliance.lint.runner import run_lint

__all__ = ["COMPLIANCE_RESPONSES", "CONSENT_FLOW", "Finding", "run_lint"]
