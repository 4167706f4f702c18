"""One place where a database outage becomes the typed StorageUnavailable.

Callers above the stores (the webhook) answer 503 on it, so Meta redelivers and nothing is lost;
the transaction that failed was rolled back by SQLAlchemy, so nothing is half-written.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import DBAPIError

from compliance.errors import StorageUnavailable


@contextmanager
def storage_errors() -> Iterator[None]:
    try:
        yield
    except DBAPIError as exc:  # OperationalError and friends: connection refused, locked, ...
        if exc.connection_invalidated or _is_outage(exc):
            raise StorageUnavailable("the compliance database did not answer") from None
        raise


def _is_outage(exc: DBAPIError) -> bool:
    from sqlalchemy.exc import InterfaceError, OperationalError

    return isinstance(exc, (OperationalError, InterfaceError))
