"""Data-subject rights the DPO serves: the open requests, folded from the audit log.

What other packages may use (the CLI):
- `open_requests(entries) -> list[OpenRequest]` (pure) and `read_open_requests(engine)` (I/O)
- `served_entry(request, outcome)`: the audit entry that closes a request
"""

from __future__ import annotations

from compliance.rights.request_log import read_open_requests
from compliance.rights.requests import (
    ACCESS,
    ERASURE,
    OpenRequest,
    format_age,
    of_subject,
    open_requests,
    served_entry,
)

__all__ = [
    "ACCESS",
    "ERASURE",
    "OpenRequest",
    "format_age",
    "of_subject",
    "open_requests",
    "read_open_requests",
    "served_entry",
]
