"""`python -m compliance rights pending|export|erase`: the data-subject requests the DPO serves.

pending lists the requests still open (made after STOP, when the bot answers nobody, and recorded
as `access_request` entries marked `pending_operator`), oldest first, from the audit log alone.
export and erase serve a subject named by phone (requests received by e-mail or letter) or by the
pseudonym `pending` shows, with the same code as the bot's rights actions (actions/rights.py);
each appends the audit entry of what it did, then one `rights_request_served` entry per open
request it served, linked by the request's seq, so that the request leaves the list.

export writes the subject's document (consent now and its history, the conversation, the kind of
identifier, the media they sent as metadata) to a file readable by its owner only, for the DPO to
hand over. erase shreds the subject's keys and identities, deletes the conversation, media and
pending exports, and marks the ledger erased; run `keys retire-kek` afterwards so that backups
taken before it become unreadable too. An erasure would leave nothing to show, so erase refuses
while the subject has an open access request, unless --close-access-requests says the DPO has
answered it otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from datetime import datetime, timezone
from pathlib import Path

from compliance.errors import ConfigError

_E164 = re.compile(r"\+[1-9][0-9]{6,14}\Z")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("rights", help="serve access and erasure requests")
    commands = parser.add_subparsers(dest="command", required=True)
    pending = commands.add_parser("pending", help="requests still to serve, oldest first")
    pending.add_argument("--json", action="store_true", help="one JSON array, for scripts")
    pending.set_defaults(func=_pending)
    export = commands.add_parser("export", help="write a subject's data to a private file")
    _who(export)
    export.add_argument("--out", required=True, type=Path, help="file to write (created 0600)")
    export.set_defaults(func=_export)
    erase = commands.add_parser("erase", help="erase a subject everywhere (crypto-shredding)")
    _who(erase)
    erase.add_argument(
        "--close-access-requests",
        action="store_true",
        help="erase even though the subject has an open access request (closed by the erasure)",
    )
    erase.set_defaults(func=_erase)


def _who(parser: argparse.ArgumentParser) -> None:
    who = parser.add_mutually_exclusive_group(required=True)
    who.add_argument("--phone", help="E.164 number, e.g. +393331234567")
    who.add_argument("--subject", help="pseudonym, as `rights pending` shows it (wa_…)")


def _subject(args: argparse.Namespace, context) -> str:  # type: ignore[no-untyped-def]
    from compliance.identity.pseudonym import is_pseudonym

    if args.subject is not None:
        if not is_pseudonym(args.subject):
            raise ConfigError("--subject: must be a pseudonym: wa_ and 32 letters or digits")
        return context.vault.canonical(args.subject)
    phone = args.phone.replace(" ", "")
    if not _E164.match(phone):
        raise ConfigError("--phone: must be an E.164 number: + then country code and number")
    return context.vault.canonical(context.vault.pseudonym_of("phone", phone))


def _context():  # type: ignore[no-untyped-def]
    from actions.compliance_context import build_context

    return build_context()


def _engine():  # type: ignore[no-untyped-def]
    from compliance.storage import create_engine_from_url, default_database_url, migrate

    engine = create_engine_from_url(default_database_url())
    migrate(engine)
    return engine


def _pending(args: argparse.Namespace) -> int:
    from compliance.rights import format_age, read_open_requests

    engine = _engine()
    try:
        requests = read_open_requests(engine)
    finally:
        engine.dispose()
    now = datetime.now(timezone.utc)
    if args.json:
        print(json.dumps([r.as_json(now) for r in requests], indent=2))
        return 0
    if not requests:
        print("no open requests")
        return 0
    rows = [("SEQ", "REQUEST", "SUBJECT", "REQUESTED (UTC)", "AGE")]
    for r in requests:
        when = r.requested_at.strftime("%Y-%m-%d %H:%M")
        rows.append((str(r.seq), r.request, r.subject, when, format_age(r.age(now))))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
    return 0


def _open_of(context, subject: str, kind: str) -> list:  # type: ignore[no-untyped-def]
    from compliance.rights import of_subject, read_open_requests

    return of_subject(read_open_requests(context.audit.engine), subject, kind)


def _serve(context, requests: list, outcome: str) -> list[int]:  # type: ignore[no-untyped-def]
    from compliance.rights import served_entry

    for request in requests:
        context.audit.append(served_entry(request, outcome))
    return [r.seq for r in requests]


def _export(args: argparse.Namespace) -> int:
    from actions.rights import build_export, conversation, media_of, write_private
    from compliance.rights import ACCESS

    context = _context()
    subject = _subject(args, context)
    events: list = []
    if context.tracker_store is not None:
        tracker = asyncio.run(context.tracker_store.retrieve_full_tracker(subject))
        events = [e.as_dict() for e in tracker.events] if tracker is not None else []
    document = build_export(
        subject,
        context.clock(),
        context.ledger.state(subject),
        context.ledger.history(subject),
        conversation(events),
        "phone",
        media_of(context, subject),
    )
    data = json.dumps(document, ensure_ascii=False, sort_keys=True, indent=2).encode("utf-8")
    write_private(args.out, data)
    context.audit_entry(
        "access_request",
        subject,
        {
            "channel": "operator",
            "message_count": len(document["conversation"]),
            "export_size_bytes": len(data),
        },
    )
    served = _serve(context, _open_of(context, subject, ACCESS), "exported")
    print(json.dumps({"subject": subject, "export": str(args.out), "served_requests": served}))
    return 0


def _erase(args: argparse.Namespace) -> int:
    from actions.rights import erase_subject
    from compliance.rights import ACCESS, ERASURE

    context = _context()
    subject = _subject(args, context)
    access = _open_of(context, subject, ACCESS)
    if access and not args.close_access_requests:
        seqs = ", ".join(str(r.seq) for r in access)
        raise ConfigError(
            f"--close-access-requests: the subject has an open access request (seq {seqs}) "
            "that an erasure would leave nothing to answer; serve it first with `rights "
            "export`, or pass --close-access-requests"
        )
    to_serve = sorted(_open_of(context, subject, ERASURE) + access, key=lambda r: r.seq)
    counts = asyncio.run(erase_subject(context, subject))
    served = _serve(context, to_serve, "erased")
    print(
        json.dumps(
            {"subject": subject, **counts, "served_requests": served}, sort_keys=True, default=str
        )
    )
    print(
        "next: python -m compliance keys retire-kek (makes older backups unreadable too)",
        file=sys.stderr,
    )
    return 0
