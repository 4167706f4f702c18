"""`python -m compliance retention run [--days N]`: delete conversations idle for N days.

Runs against SIGILLO_DATABASE_URL (or the embedded SQLite default), prints how many
conversations were deleted as JSON, and appends a retention_run entry to the audit log, signed
with the keyring's audit key: an operator action that is not in the audit log did not happen.
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime, timezone

from compliance.tracker_store.config import DEFAULT_RETENTION_DAYS


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("retention", help="delete idle tracker conversations")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="delete conversations not written for N days")
    run.add_argument(
        "--days",
        type=int,
        default=DEFAULT_RETENTION_DAYS,
        help=f"idle days before deletion (default {DEFAULT_RETENTION_DAYS})",
    )
    run.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from compliance.storage import create_engine_from_url, default_database_url, migrate
    from compliance.tracker_store.retention import delete_idle_conversations

    engine = create_engine_from_url(default_database_url())
    try:
        migrate(engine)
        audit, close = _audit_hook(engine)
        try:
            deleted = delete_idle_conversations(
                engine, args.days, datetime.now(timezone.utc), audit=audit
            )
        finally:
            if close is not None:
                close()
    finally:
        engine.dispose()
    print(json.dumps({"conversations_deleted": deleted, "older_than_days": args.days}))
    return 0


def _audit_hook(engine):  # type: ignore[no-untyped-def]  # noqa: ANN202
    """AuditLog.append under the keyring's audit key, or (None, None) if there is no audit log."""
    try:
        from compliance.audit import AuditLog
    except ImportError:  # pragma: no cover - the audit package is optional for this command
        return None, None
    from compliance.keys.keyfile import load_keyring

    log = AuditLog(engine, load_keyring().audit_signing_key)
    return log.append, log.close
