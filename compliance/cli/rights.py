"""`python -m compliance rights export|erase --phone …`: data-subject requests the DPO receives
outside the chat (e-mail, letter), served by the same code as the bot's rights actions
(actions/rights.py), and audited as `access_request` / `erasure` from the CLI.

export writes the subject's document (consent now and its history, the conversation, the kind of
identifier) to a file readable by its owner only, for the DPO to hand over. erase shreds the
subject's keys and identities, deletes the conversation and pending exports, and marks the ledger
erased; run `keys retire-kek` afterwards so that backups taken before it become unreadable too.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from pathlib import Path

from compliance.errors import ConfigError

_E164 = re.compile(r"\+[1-9][0-9]{6,14}\Z")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("rights", help="serve access and erasure requests")
    commands = parser.add_subparsers(dest="command", required=True)
    export = commands.add_parser("export", help="write a subject's data to a private file")
    export.add_argument("--phone", required=True, help="E.164 number, e.g. +393331234567")
    export.add_argument("--out", required=True, type=Path, help="file to write (created 0600)")
    export.set_defaults(func=_export)
    erase = commands.add_parser("erase", help="erase a subject everywhere (crypto-shredding)")
    erase.add_argument("--phone", required=True, help="E.164 number, e.g. +393331234567")
    erase.set_defaults(func=_erase)


def _subject(phone: str, context) -> str:  # type: ignore[no-untyped-def]
    phone = phone.replace(" ", "")
    if not _E164.match(phone):
        raise ConfigError("--phone: must be an E.164 number: + then country code and number")
    return context.vault.canonical(context.vault.pseudonym_of("phone", phone))


def _context():  # type: ignore[no-untyped-def]
    from actions.compliance_context import build_context

    return build_context()


def _export(args: argparse.Namespace) -> int:
    from actions.rights import build_export, conversation, write_private

    context = _context()
    subject = _subject(args.phone, context)
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
    print(json.dumps({"subject": subject, "export": str(args.out)}))
    return 0


def _erase(args: argparse.Namespace) -> int:
    from actions.rights import erase_subject

    context = _context()
    subject = _subject(args.phone, context)
    counts = asyncio.run(erase_subject(context, subject))
    print(json.dumps({"subject": subject, **counts}, sort_keys=True, default=str))
    print(
        "next: python -m compliance keys retire-kek (makes older backups unreadable too)",
        file=sys.stderr,
    )
    return 0
