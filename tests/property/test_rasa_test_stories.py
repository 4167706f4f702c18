"""`rasa test core` over every test story in bot/tests/, as a developer runs it.

Why a pytest wrapper: the consent stories (bot/tests/test_consent_stories.yml) are the
designers' executable spec of the consent flows in both languages; run with the rest of the
suite, a change to the data, the domain or ConsentPolicy that breaks a flow fails here, with
Rasa's own failed-stories report in the assertion message. The action server runs with its own
key file and database, as the command in the stories' header says.

`--e2e` makes Rasa parse each story's user text with the trained NLU (intent and the `language`
entity) instead of taking the story's intent as given, so the stories check what the user
actually types. Note that `rasa test core` predicts actions without running them (Rasa 3.6,
rasa/core/test.py): what the consent actions write is in the stories as slot_was_set, and the
property test (test_consent_invariants.py) is what drives the real actions and ledger.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.property.conftest import ROOT, ActionServer

pytestmark = pytest.mark.e2e

TIMEOUT_SECONDS = 240


def write_endpoints(folder: Path, webhook: str) -> Path:
    """bot/endpoints.yml with the action endpoint pointed at this session's action server."""
    endpoints = yaml.safe_load((ROOT / "bot" / "endpoints.yml").read_text()) or {}
    endpoints["action_endpoint"] = {"url": webhook}
    path = folder / "endpoints.yml"
    path.write_text(yaml.safe_dump(endpoints, sort_keys=False))
    return path


def test_every_story_in_bot_tests_passes(
    trained_model: Path, action_server: ActionServer, tmp_path: Path
) -> None:
    """0 failed stories; on failure the message holds Rasa's failed_test_stories.yml."""
    out = tmp_path / "results"
    command = [
        str(Path(sys.executable).parent / "rasa"),
        "test",
        "core",
        "--stories",
        str(ROOT / "bot" / "tests"),
        "--model",
        str(trained_model),
        "--endpoints",
        str(write_endpoints(tmp_path, action_server.webhook)),
        "--out",
        str(out),
        "--no-plot",
        "--e2e",  # NLU on the user's own words too, as bot/tests/test_stories.yml asks
    ]
    result = subprocess.run(
        command,
        cwd=ROOT,
        env={**os.environ, **action_server.env},
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    failed = out / "failed_test_stories.yml"
    report = failed.read_text() if failed.exists() else ""
    assert "story:" not in report, f"failed test stories:\n{report[:6000]}"
