"""Retention of the audit log itself, without losing verifiability.

HIPAA keeps compliance documentation six years (45 CFR 164.316(b)(2)(i)), hence the default.
Entries older than the cutoff are deleted only up to a checkpoint boundary S: the checkpoint at S
stays, with the compact range stored beside it (the perfect-subtree roots of the deleted leaves,
RFC 9162 §2.1.1), so verification restarts at S from a signed root and inclusion proofs for kept
entries still work. The pruning is itself appended to the log, in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, func, select

from compliance.audit.entries import NewEntry, format_time
from compliance.audit.log import AuditLog
from compliance.audit.tables import audit_checkpoints, audit_entries
from compliance.errors import ConfigError

DEFAULT_RETENTION_DAYS = 6 * 365 + 2  # six years, counting two leap days


@dataclass(frozen=True)
class PruneResult:
    pruned_before: int  # first kept seq (a checkpoint size); 0 when nothing was ever pruned
    deleted_entries: int
    deleted_checkpoints: int
    audit_seq: int  # the retention_run entry recording this pruning


def prune(log: AuditLog, older_than_days: int = DEFAULT_RETENTION_DAYS,
          now: datetime | None = None, component: str = "cli") -> PruneResult:
    """Delete entries older than `older_than_days`, up to the newest eligible checkpoint."""
    if not isinstance(older_than_days, int) or older_than_days < 1:
        raise ConfigError("older_than_days must be an integer >= 1")
    now = now or datetime.now(timezone.utc)
    cutoff = format_time(now - timedelta(days=older_than_days))
    e, c = audit_entries.c, audit_checkpoints.c
    with log.locked() as (connection, head):
        first_recent = connection.execute(
            select(func.min(e.seq)).where(e.time >= cutoff)
        ).scalar_one_or_none()
        limit = head.size if first_recent is None else int(first_recent)
        boundary = connection.execute(
            select(func.max(c.size)).where(c.size <= limit, c.size >= head.pruned_before)
        ).scalar_one_or_none()
        boundary = int(boundary or 0)
        deleted = checkpoints = 0
        if boundary > head.pruned_before:
            deleted = connection.execute(delete(audit_entries).where(e.seq < boundary)).rowcount
            checkpoints = connection.execute(
                delete(audit_checkpoints).where(c.size < boundary)
            ).rowcount
            head.pruned_before = boundary
        record = NewEntry(component, "retention_run", None, {
            "target": "audit_log",
            "older_than_days": older_than_days,
            "pruned_before_seq": head.pruned_before,
            "deleted_count": deleted,
        })
        [seq] = log.append_locked(connection, head, [record])
    return PruneResult(head.pruned_before, deleted, checkpoints, seq)
