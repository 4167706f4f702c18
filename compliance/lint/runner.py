"""Load the project's YAML, run every check, print the findings; exit 1 if there are any.

`python -m compliance lint [--root .]`, also run by `make lint`. Reads domain.yml, config.yml,
bot/compliance.yml and every YAML under bot/data; writes nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TextIO

import yaml

from compliance.lint import checks
from compliance.lint.checks import Finding

DOMAIN = "domain.yml"
CONFIG = "config.yml"
SETTINGS = "bot/compliance.yml"
DATA = "bot/data"


def _load(root: Path, relative: str, findings: list[Finding]) -> Any:
    path = root / relative
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        findings.append(Finding(relative, "file", "missing"))
    except (OSError, yaml.YAMLError) as exc:
        findings.append(Finding(relative, "file", f"unreadable ({type(exc).__name__})"))
    return None


def run_lint(root: Path) -> list[Finding]:
    """All findings for the project at `root`, sorted by file and item."""
    findings: list[Finding] = []
    domain = _load(root, DOMAIN, findings)
    if isinstance(domain, dict):
        findings += checks.check_responses(domain, DOMAIN)
        findings += checks.check_button_limits(domain, DOMAIN)
        findings += checks.check_confirm_buttons(domain, DOMAIN)
        findings += checks.check_domain_wiring(domain, DOMAIN)
    config = _load(root, CONFIG, findings)
    if isinstance(config, dict):
        findings += checks.check_policy_config(config, CONFIG)
    settings = _load(root, SETTINGS, findings)
    if settings is not None:
        findings += checks.check_settings(settings, SETTINGS)
    data_files = {}
    data_dir = root / DATA
    for path in sorted([*data_dir.rglob("*.yml"), *data_dir.rglob("*.yaml")]):
        relative = path.relative_to(root).as_posix()
        data_files[relative] = _load(root, relative, findings)
    findings += checks.check_flows(data_files)
    return sorted(findings)


def main(root: Path, out: TextIO) -> int:
    findings = run_lint(root)
    for finding in findings:
        print(finding, file=out)
    if findings:
        print(f"compliance lint: {len(findings)} finding(s)", file=out)
        return 1
    print("compliance lint: no findings", file=out)
    return 0
