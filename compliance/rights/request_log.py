"""Reads the audit entries that open and close data-subject requests, and folds them.

The I/O edge of compliance.rights.requests: only the kinds the fold reads are streamed, in seq
order, so listing the open requests of a long log holds one batch in memory.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from sqlalchemy import select
from sqlalchemy.engine import Engine

from compliance.audit.entries import AuditEntry, parse_time
from compliance.audit.tables import audit_entries
from compliance.rights.requests import RELEVANT_KINDS, OpenRequest, open_requests
from compliance.storage.guard import storage_errors

_BATCH = 2000


def read_open_requests(engine: Engine) -> list[OpenRequest]:
    """The requests still open in the audit log of `engine`, oldest first."""
    return open_requests(_relevant_entries(engine))


def _relevant_entries(engine: Engine) -> Iterator[AuditEntry]:
    c = audit_entries.c
    query = (
        select(c.seq, c.time, c.component, c.kind, c.subject, c.attributes)
        .where(c.kind.in_(RELEVANT_KINDS))
        .order_by(c.seq)
    )
    with storage_errors(), engine.connect() as connection:
        result = connection.execution_options(stream_results=True, yield_per=_BATCH).execute(query)
        for row in result:
            attributes = json.loads(row.attributes)
            yield AuditEntry(
                seq=int(row.seq),
                time=parse_time(row.time),
                component=row.component,
                kind=row.kind,
                subject=row.subject,
                attributes=attributes if isinstance(attributes, dict) else {},
            )
