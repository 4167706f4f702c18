"""What the benchmark scripts share: consent set-up for bench users, percentiles, tables."""

from __future__ import annotations

import json
from pathlib import Path

from devstack.consent import grant_consent

__all__ = ["grant_consent", "percentile", "print_table"]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def print_table(command: str, rows: list[tuple[str, str]], results_name: str) -> None:
    print(f"\n`{command}`\n")
    print("| measure | value |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")
    Path("results").mkdir(exist_ok=True)
    Path(f"results/{results_name}.json").write_text(json.dumps(dict(rows), indent=2))
