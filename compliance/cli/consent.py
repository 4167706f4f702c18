"""`python -m compliance consent optin|show|expire`: the operator's consent commands.

optin records the first step of a double opt-in made outside the chat (a checkbox on the shop's
site); the channel then sends the confirmation template and the user's tap confirms it. The
phone number is pseudonymized at once and never printed or stored in clear.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

from compliance.errors import ConfigError

_E164 = re.compile(r"\+[1-9][0-9]{6,14}\Z")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("consent", help="consent ledger: opt-in, show, expire")
    parser.add_argument(
        "--settings",
        type=Path,
        default=Path("bot/compliance.yml"),
        help="compliance settings file (default bot/compliance.yml)",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    optin = commands.add_parser("optin", help="record a first opt-in made outside the chat")
    optin.add_argument("--phone", required=True, help="E.164 number, e.g. +393331234567")
    optin.add_argument(
        "--purpose",
        action="append",
        required=True,
        help="purpose to opt in to (repeatable): service, marketing",
    )
    optin.add_argument("--method", choices=("web_form", "cli"), default="web_form")
    optin.add_argument("--evidence-id", help="form submission id (stored as a keyed hash)")
    optin.add_argument(
        "--no-send",
        action="store_true",
        help="only record; do not send the confirmation template (sent by default when the "
        "WHATSAPP_* settings are set)",
    )
    optin.set_defaults(func=_optin)

    show = commands.add_parser("show", help="current consent and receipts of a pseudonym")
    show.add_argument("--subject", required=True, help="pseudonym, e.g. wa_…")
    show.set_defaults(func=_show)

    expire = commands.add_parser("expire", help="expire first opt-ins never confirmed in time")
    expire.set_defaults(func=_expire)


def _optin(args: argparse.Namespace) -> int:
    phone = args.phone.replace(" ", "")
    if not _E164.match(phone):
        raise ConfigError("--phone: must be an E.164 number: + then country code and number")
    context = _context(args)
    subject = context.vault.register("phone", phone)  # the channel needs it to send the template
    receipts = context.ledger.record_external_optin(
        subject, args.purpose, method=args.method, evidence_id=args.evidence_id
    )
    for receipt in receipts:
        _print({"subject": subject, "purpose": receipt.purpose, "state": receipt.to_state.value})
    if args.no_send:
        return 0
    if not os.environ.get("WHATSAPP_ACCESS_TOKEN"):
        print("confirmation template not sent: the WHATSAPP_* settings are not set",
              file=sys.stderr)
        return 0
    import asyncio

    from compliance.gate import ComplianceGate
    from connectors.whatsapp.confirmation import send_confirmation_template

    asyncio.run(send_confirmation_template(ComplianceGate(context), subject))
    _print({"subject": subject, "confirmation_template": "sent"})
    return 0


def _show(args: argparse.Namespace) -> int:
    ledger = _context(args).ledger
    _print(
        {
            "subject": args.subject,
            "state": {p: s.value for p, s in ledger.state(args.subject).items()},
        }
    )
    for receipt in ledger.history(args.subject):
        entry = receipt.as_audit_dict()
        del entry["type"]
        _print(entry)
    return 0


def _expire(args: argparse.Namespace) -> int:
    receipts = _context(args).ledger.expire_pending()
    _print({"expired": len(receipts)})
    return 0


def _print(value: dict[str, Any]) -> None:
    print(json.dumps(value, sort_keys=True), file=sys.stdout)


def _context(args: argparse.Namespace):  # noqa: ANN202
    from compliance.context import ENV_SETTINGS_FILE, build_context

    return build_context({**os.environ, ENV_SETTINGS_FILE: str(args.settings)}, component="cli")
