"""The project's own data passes the checks a designer or a developer runs before training:
`rasa data validate` (no errors; Rasa's warnings about intents that ConsentPolicy handles and
responses sent from actions are expected) and the compliance lint (no findings)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from compliance.lint import run_lint

ROOT = Path(__file__).resolve().parents[2]


def test_rasa_data_validate_finds_no_error() -> None:
    rasa = Path(sys.executable).parent / "rasa"
    out = subprocess.run(
        [
            str(rasa),
            "data",
            "validate",
            "--domain",
            "domain.yml",
            "--data",
            "bot/data",
            "--config",
            "config.yml",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]


def test_the_compliance_lint_finds_nothing_in_the_project() -> None:
    findings = run_lint(ROOT)
    assert findings == [], "\n".join(f"{f.file}: {f.item}: {f.message}" for f in findings)
