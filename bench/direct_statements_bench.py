"""The turn's hot statements through SQLAlchemy Core and as Direct statements, in the same run.

Each statement of a WhatsApp turn that compliance/storage/direct.py runs on SQLite's own cursor is
timed both ways on a migrated SQLite database: `connection.execute(statement, params)` (the
baseline) and `Direct(statement).execute(connection, params)`, alternating rounds, inside a
transaction that is rolled back (so neither side pays a commit and the data stays the same).
Reported: microseconds per execution, median of the rounds, and the ratio Direct / SQLAlchemy.

Run: `.venv/bin/python bench/direct_statements_bench.py` (under a minute; `--quick`).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import print_table  # noqa: E402
from compliance.audit.tables import HEAD_ID, audit_entries, audit_head  # noqa: E402
from compliance.consent.tables import consent_state  # noqa: E402
from compliance.storage import create_engine_from_url, migrate  # noqa: E402
from compliance.storage.direct import Direct  # noqa: E402
from compliance.storage.tables_identity import identities  # noqa: E402
from connectors.whatsapp.inbox_tables import inbox  # noqa: E402

SUBJECT = "wa_" + "b" * 32

# (name, statement, parameters of the i-th execution): the shapes of the turn's reads and writes.
CASES: list[tuple[str, Any, Callable[[int], Any]]] = [
    ("audit head read", sa.select(audit_head).where(audit_head.c.id == HEAD_ID), lambda i: {}),
    (
        "audit head write",
        sa.update(audit_head)
        .where(audit_head.c.id == HEAD_ID)
        .values(size=sa.bindparam("h_size"), compact_range=sa.bindparam("h_range")),
        lambda i: {"h_size": 0, "h_range": "[]"},
    ),
    (
        "audit entry insert",
        sa.insert(audit_entries),
        lambda i: [
            {
                "seq": 10**9 + i,
                "time": "2026-11-29T00:00:00.000000Z",
                "component": "channel",
                "kind": "outbound_message",
                "subject": SUBJECT,
                "attributes": '{"message_type":"text"}',
                "leaf_hash": "00" * 32,
            }
        ],
    ),
    (
        "vault row read",
        sa.select(identities).where(identities.c.pseudonym == sa.bindparam("p")),
        lambda i: {"p": SUBJECT},
    ),
    (
        "consent rows read (datetimes converted)",
        sa.select(consent_state).where(consent_state.c.subject == sa.bindparam("s")),
        lambda i: {"s": SUBJECT},
    ),
    (
        "inbox lease update",
        sa.update(inbox)
        .where(inbox.c.seq == sa.bindparam("q"), inbox.c.state == "pending")
        .values(lease_owner=sa.bindparam("o"), attempts=inbox.c.attempts + 1),
        lambda i: {"q": 1, "o": "bench"},
    ),
]


def seed(engine: sa.engine.Engine) -> None:
    from datetime import datetime, timezone

    now = datetime.now(timezone.utc)
    with engine.begin() as conn:
        conn.execute(
            sa.insert(consent_state),
            [
                {
                    "subject": SUBJECT,
                    "purpose": p,
                    "state": "confirmed",
                    "notice_version": "1",
                    "last_inbound_at": now,
                    "updated_at": now,
                }
                for p in ("service", "marketing")
            ],
        )


def through_sqlalchemy(statement: Any, conn: Any, params: Any) -> Any:
    return conn.execute(statement, params)


def per_call(
    engine: sa.engine.Engine,
    run: Callable[[Any, Any], Any],
    params: Callable[[int], Any],
    calls: int,
) -> float:
    values = [params(i) for i in range(calls)]  # built before the clock starts
    with engine.connect() as conn:
        conn.begin()
        start = time.perf_counter()
        for value in values:
            run(conn, value)
        spent = time.perf_counter() - start
        conn.rollback()
    return spent / calls


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    calls, rounds = (300, 3) if args.quick else (3000, 7)
    folder = Path(tempfile.mkdtemp(prefix="sigillo-direct-"))
    engine = create_engine_from_url(f"sqlite:///{folder / 'sigillo.db'}")
    migrate(engine)
    seed(engine)
    rows: list[tuple[str, str]] = []
    ratios = []
    for name, statement, params in CASES:
        direct = Direct(statement)
        theirs, ours = [], []
        for _ in range(rounds):
            theirs.append(per_call(engine, partial(through_sqlalchemy, statement), params, calls))
            ours.append(per_call(engine, direct.execute, params, calls))
        sqlalchemy_us, direct_us = (statistics.median(t) * 1e6 for t in (theirs, ours))
        ratios.append(direct_us / sqlalchemy_us)
        rows.append(
            (
                f"{name}: SQLAlchemy Core / Direct, us per execution",
                f"{sqlalchemy_us:.1f} / {direct_us:.1f} (ratio {direct_us / sqlalchemy_us:.2f})",
            )
        )
    rows.append(
        ("median ratio Direct / SQLAlchemy over the statements", f"{statistics.median(ratios):.2f}")
    )
    rows.append(("executions per round x rounds", f"{calls} x {rounds}"))
    engine.dispose()
    command = f".venv/bin/python bench/direct_statements_bench.py{' --quick' if args.quick else ''}"
    print_table(command, rows, "direct_statements_bench")
    return 0


if __name__ == "__main__":
    sys.exit(main())
