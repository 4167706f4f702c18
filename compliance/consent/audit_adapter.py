"""Turn the ledger's audit dicts into the audit log's entries (compliance.audit.NewEntry shape).

The ledger takes a plain callable so that it does not depend on the audit log's API; this is
the one place that knows both shapes. Attributes are states, names, versions and keyed hashes:
no identifier in clear, no text.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

_NOT_ATTRIBUTES = ("type", "subject", "time")


def audit_hook(
    append: Callable[[Mapping[str, Any]], Any], component: str
) -> Callable[[dict], None]:
    """A ConsentLedger audit_hook that appends a `consent_change` entry via `append`
    (for instance `AuditLog(...).append`); `component` is who made the change (cli, action_server,
    channel)."""

    def hook(change: dict) -> None:
        attributes = {k: v for k, v in change.items() if k not in _NOT_ATTRIBUTES and v is not None}
        # The log stamps its own time; the receipt's time goes as an integer, since an ISO
        # timestamp's digit runs look like a phone number to the audit log's PII screen.
        attributes["receipt_time_ms"] = int(
            datetime.fromisoformat(change["time"]).timestamp() * 1000
        )
        if change.get("evidence_hash"):
            attributes["evidence_hash"] = "h1:" + change["evidence_hash"]  # keyed-hash format
        append(
            {
                "component": component,
                "kind": "consent_change",
                "subject": change["subject"],
                "attributes": attributes,
            }
        )

    return hook
