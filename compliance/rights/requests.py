"""Open data-subject requests, folded from the audit log: what the DPO still has to serve.

After STOP the bot answers nobody (design.md invariant 4), so a request to see or erase one's
data is an `access_request` audit entry marked `pending_operator` (actions/rights_requests.py),
and the DPO serves it with `python -m compliance rights export|erase`. The audit log is the one
record of both facts, so the list of open requests is a fold over its entries, in seq order, and
no second table can drift from it. A request is open until the log shows one of:

- an entry of the same subject whose `serves_request_seq` names it: what `rights export|erase`
  append, one per request they serve (an entry of another subject never closes it);
- an `erasure` of the subject: nothing is left to show or to erase (for instance the chat's own
  erasure after the user opted in again).

GDPR art. 12(3) gives the controller one month to answer, hence the age on every request.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from compliance.audit.entries import AuditEntry, NewEntry, format_time

ACCESS = "access"
ERASURE = "erasure"
REQUEST_KINDS = (ACCESS, ERASURE)
PENDING_STATUS = "pending_operator"
SERVES_ATTRIBUTE = "serves_request_seq"
SERVED_COMMAND = "rights_request_served"
# The only kinds the fold reads; the reader filters on them so a long log streams fewer rows.
REQUEST_KIND = "access_request"
ERASURE_KIND = "erasure"
SERVED_KIND = "operator_command"
RELEVANT_KINDS = (REQUEST_KIND, ERASURE_KIND, SERVED_KIND)


@dataclass(frozen=True)
class OpenRequest:
    """One request the DPO has not served yet; seq is its audit entry's index."""

    seq: int
    subject: str
    request: str  # access | erasure
    requested_at: datetime
    channel: str | None = None

    def age(self, now: datetime) -> timedelta:
        """Time since the request; never negative (clock skew between hosts counts as zero)."""
        return max(now - self.requested_at, timedelta(0))

    def as_json(self, now: datetime) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "subject": self.subject,
            "request": self.request,
            "requested_at": format_time(self.requested_at),
            "age_seconds": int(self.age(now).total_seconds()),
            "channel": self.channel,
        }


def open_requests(entries: Iterable[AuditEntry]) -> list[OpenRequest]:
    """The requests still open after `entries` (in seq order), oldest first.

    Unknown or malformed values degrade, never crash: a request label other than access or
    erasure counts as access (the action's own default), a `serves_request_seq` that is not an
    integer or names no open request of that subject closes nothing.
    """
    pending: dict[int, OpenRequest] = {}
    for entry in entries:
        attributes = entry.attributes
        if entry.subject is None:
            continue
        if entry.kind == REQUEST_KIND and attributes.get("status") == PENDING_STATUS:
            pending[entry.seq] = _request(entry)
        elif entry.kind == ERASURE_KIND:
            for seq in [s for s, r in pending.items() if r.subject == entry.subject]:
                del pending[seq]
        served = attributes.get(SERVES_ATTRIBUTE)
        if isinstance(served, int) and not isinstance(served, bool):
            request = pending.get(served)
            if request is not None and request.subject == entry.subject:
                del pending[served]
    return sorted(pending.values(), key=lambda r: r.seq)


def _request(entry: AuditEntry) -> OpenRequest:
    request = entry.attributes.get("request")
    channel = entry.attributes.get("channel")
    return OpenRequest(
        seq=entry.seq,
        subject=entry.subject or "",
        request=request if request in REQUEST_KINDS else ACCESS,
        requested_at=entry.time,
        channel=channel if isinstance(channel, str) else None,
    )


def of_subject(requests: Iterable[OpenRequest], subject: str, kind: str) -> list[OpenRequest]:
    """The open requests of one subject and one kind (access or erasure), oldest first."""
    return [r for r in requests if r.subject == subject and r.request == kind]


def served_entry(request: OpenRequest, outcome: str, component: str = "cli") -> NewEntry:
    """The audit entry that closes `request`: linked by its seq, with what was done."""
    return NewEntry(
        component=component,
        kind=SERVED_KIND,
        subject=request.subject,
        attributes={
            "command": SERVED_COMMAND,
            SERVES_ATTRIBUTE: request.seq,
            "request": request.request,
            "outcome": outcome,
        },
    )


def format_age(age: timedelta) -> str:
    """ "3d 4h", "5h 12m", "7m", "<1m": what a DPO reads at a glance."""
    minutes = int(age.total_seconds()) // 60
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m" if minutes else "<1m"
