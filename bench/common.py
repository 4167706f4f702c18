"""What the benchmark scripts share: consent set-up for bench users, percentiles, tables."""

from __future__ import annotations

import json
from pathlib import Path

from compliance.consent.model import EventType

CONFIRMING_EVENTS = (
    EventType.NOTICE_SHOWN,
    EventType.CONSENT_ASKED,
    EventType.CONSENT_GIVEN,
    EventType.CONFIRMED,
)


def grant_consent(context, subjects: list[str]) -> None:  # type: ignore[no-untyped-def]
    """A confirmed double opt-in for each subject, as if they had tapped through it."""
    for subject in subjects:
        for event in CONFIRMING_EVENTS:
            context.ledger.apply(
                subject,
                "service",
                event,
                notice_version=context.settings.notice_version,
                evidence_id=f"bench-{event.value}",
            )


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
