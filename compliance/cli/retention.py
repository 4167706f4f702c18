"""`python -m compliance retention run [--days N]`: delete conversations idle for N days, and
media files (compliance/media) received more than N days ago.

Runs against SIGILLO_DATABASE_URL (or the embedded SQLite default), prints how many
conversations and media files were deleted as JSON, and appends retention_run entries to the
audit log, signed with the keyring's audit key: an operator action that is not in the audit log
did not happen.
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime, timedelta, timezone

from compliance.tracker_store.config import DEFAULT_RETENTION_DAYS


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("retention", help="delete idle conversations and old media")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="delete conversations idle and media older than N days")
    run.add_argument(
        "--days",
        type=int,
        default=DEFAULT_RETENTION_DAYS,
        help=f"idle days before deletion (default {DEFAULT_RETENTION_DAYS})",
    )
    run.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from compliance.media import delete_media_older_than
    from compliance.storage import create_engine_from_url, default_database_url, migrate
    from compliance.tracker_store.retention import delete_idle_conversations

    engine = create_engine_from_url(default_database_url())
    try:
        migrate(engine)
        audit, close = _audit_hook(engine)
        try:
            now = datetime.now(timezone.utc)
            deleted = delete_idle_conversations(engine, args.days, now, audit=audit)
            # Media age on their own clock: a file sent long ago in a conversation that is still
            # going is as old as its day of arrival.
            media = delete_media_older_than(engine, now - timedelta(days=args.days))
            if audit is not None:
                audit(
                    {
                        "component": "media",
                        "kind": "retention_run",
                        "subject": None,
                        "attributes": {"older_than_days": args.days, "media_count": media},
                    }
                )
        finally:
            if close is not None:
                close()
    finally:
        engine.dispose()
    print(
        json.dumps(
            {"conversations_deleted": deleted, "media_deleted": media, "older_than_days": args.days}
        )
    )
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
