"""Fixtures shared by the compliance tests: an audit log on the test's database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from compliance.audit import AuditLog

AUDIT_SEED = bytes(range(32))  # test-only signing seed


@pytest.fixture
def audit(engine) -> Iterator[AuditLog]:  # type: ignore[no-untyped-def]
    """An audit log on the test's database (SQLite, and PostgreSQL when its URL is set)."""
    log = AuditLog(engine, AUDIT_SEED)
    yield log
    log.close()
