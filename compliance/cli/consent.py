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
# Where `rasa run` is pointed at (Makefile): the channel's settings, as the server reads them.
DEFAULT_CREDENTIALS = Path("bot/credentials.yml")


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
        "channel has an access token)",
    )
    optin.add_argument(
        "--credentials",
        type=Path,
        help="Rasa's credentials file whose WhatsApp channel settings the send uses, with the "
        f"WHATSAPP_* environment for the keys it leaves out (default {DEFAULT_CREDENTIALS}, "
        "when it exists)",
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
    channel = _channel_settings(args)  # a bad setting stops the command before it records
    context = _context(args)
    subject = context.vault.register("phone", phone)  # the channel needs it to send the template
    receipts = context.ledger.record_external_optin(
        subject, args.purpose, method=args.method, evidence_id=args.evidence_id
    )
    for receipt in receipts:
        _print({"subject": subject, "purpose": receipt.purpose, "state": receipt.to_state.value})
    if channel is None:
        return 0
    import asyncio

    from compliance.gate import ComplianceGate
    from connectors.whatsapp.confirmation import send_confirmation_template

    asyncio.run(send_confirmation_template(ComplianceGate(context), subject, config=channel))
    _print({"subject": subject, "confirmation_template": "sent"})
    return 0


def _channel_settings(args: argparse.Namespace):  # noqa: ANN202 - WhatsAppConfig | None
    """The WhatsApp channel's settings, as the Rasa server reads them (its credentials.yml
    block, the WHATSAPP_* environment for the rest), checked before anything is recorded.
    None (and a note on stderr) when nothing is to be sent."""
    if args.no_send:
        return None
    from connectors.whatsapp.config import WhatsAppConfig, WhatsAppConfigError
    from connectors.whatsapp.credentials_file import channel_credentials

    explicit = args.credentials is not None
    path = args.credentials or DEFAULT_CREDENTIALS
    block = channel_credentials(path) if explicit or path.is_file() else None
    if not (block or {}).get("access_token") and not os.environ.get("WHATSAPP_ACCESS_TOKEN"):
        print(
            "confirmation template not sent: the WhatsApp channel has no access token"
            f" (access_token in {path}, or WHATSAPP_ACCESS_TOKEN)",
            file=sys.stderr,
        )
        return None
    try:
        return WhatsAppConfig.from_credentials(block, os.environ)
    except WhatsAppConfigError as exc:  # names the setting, never its value
        raise ConfigError(str(exc)) from None


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
