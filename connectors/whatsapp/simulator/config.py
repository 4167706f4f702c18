"""Simulator configuration: CLI arguments over environment over defaults, validated once.

The business identity defaults to the numbers of Meta's own examples (fixtures metadocs__*,
whatsapp-cloud-api.md §3); the secrets default to obvious test values because this server only
ever stands in for Meta on 127.0.0.1. Shared names (WHATSAPP_APP_SECRET, WHATSAPP_ACCESS_TOKEN,
WHATSAPP_PHONE_NUMBER_ID) are the ones design.md gives the bot, so one environment drives both.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from connectors.whatsapp import limits

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


class SimConfigError(ValueError):
    """An invalid setting; the message names the field and the rule, never a secret's value."""


@dataclass(frozen=True)
class SimConfig:
    host: str = "127.0.0.1"
    port: int = 5300
    callback_url: str | None = None
    app_secret: str = field(default="sim-app-secret", repr=False)
    access_token: str = field(default="sim-access-token", repr=False)
    phone_number_id: str = "106540352242922"
    display_phone_number: str = "15550783881"
    waba_id: str = "102290129340398"
    webhook_timeout: float = 5.0
    status_delay: float = 0.05
    enforce_window: bool = True
    fail_unknown_recipients: bool = False
    pair_rate_limit: int | None = None
    messages_per_second: float = limits.DEFAULT_MESSAGES_PER_SECOND
    read_receipts: bool = True
    ensure_ascii: bool = True

    def __post_init__(self) -> None:
        if self.host not in LOOPBACK_HOSTS:
            raise SimConfigError(f"host: must be a loopback address {LOOPBACK_HOSTS}")
        if not 0 <= self.port <= 65535:
            raise SimConfigError("port: must be 0-65535 (0 picks a free port)")
        if self.callback_url is not None and not self.callback_url.startswith(
            ("http://", "https://")
        ):
            raise SimConfigError("callback_url: must be an http(s) URL")
        for name in ("app_secret", "access_token", "phone_number_id", "display_phone_number"):
            if not getattr(self, name):
                raise SimConfigError(f"{name}: must not be empty")
        for name in ("webhook_timeout", "messages_per_second"):
            if getattr(self, name) <= 0:
                raise SimConfigError(f"{name}: must be > 0")
        if self.status_delay < 0:
            raise SimConfigError("status_delay: must be >= 0")
        if self.pair_rate_limit is not None and self.pair_rate_limit < 1:
            raise SimConfigError("pair_rate_limit: must be >= 1 (omit it to turn the check off)")


def _flag(environ: Mapping[str, str], name: str, default: bool) -> bool:
    raw = environ.get(name)
    if raw is None:
        return default
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise SimConfigError(f"{name}: expected true/false, got {raw!r}")


def from_args(argv: Sequence[str] | None, environ: Mapping[str, str]) -> SimConfig:
    """Build the config for `python -m connectors.whatsapp.simulator`."""
    env = environ.get
    parser = argparse.ArgumentParser(prog="python -m connectors.whatsapp.simulator",
                                     description="Local stand-in for Meta's WhatsApp Cloud API.")
    parser.add_argument("--host", default=env("SIGILLO_SIM_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(env("SIGILLO_SIM_PORT", "5300")))
    parser.add_argument("--callback", dest="callback_url", default=env("SIGILLO_SIM_CALLBACK_URL"),
                        help="the bot's webhook, e.g. http://127.0.0.1:5005/webhooks/whatsapp/webhook")
    parser.add_argument("--app-secret", default=env("WHATSAPP_APP_SECRET", "sim-app-secret"))
    parser.add_argument("--access-token", default=env("WHATSAPP_ACCESS_TOKEN", "sim-access-token"))
    parser.add_argument("--phone-number-id",
                        default=env("WHATSAPP_PHONE_NUMBER_ID", "106540352242922"))
    parser.add_argument("--display-phone-number",
                        default=env("SIGILLO_SIM_DISPLAY_PHONE_NUMBER", "15550783881"))
    parser.add_argument("--waba-id", default=env("SIGILLO_SIM_WABA_ID", "102290129340398"))
    parser.add_argument("--webhook-timeout", type=float,
                        default=float(env("SIGILLO_SIM_WEBHOOK_TIMEOUT", "5")))
    parser.add_argument("--status-delay", type=float,
                        default=float(env("SIGILLO_SIM_STATUS_DELAY", "0.05")))
    parser.add_argument("--pair-rate-limit", type=int, default=None,
                        help="reject with 131056 after N messages to one user in 6 s (off)")
    parser.add_argument("--mps", type=float, default=limits.DEFAULT_MESSAGES_PER_SECOND,
                        help="messages per second before 130429 (80)")
    parser.add_argument("--no-window", action="store_true",
                        help="do not enforce the 24-hour customer-service window (131047)")
    parser.add_argument("--fail-unknown-recipients", action="store_true",
                        help="fail sends to never-seen users with 131026")
    parser.add_argument("--no-read-receipts", action="store_true")
    parser.add_argument("--utf8-webhooks", action="store_true",
                        help="send raw UTF-8 instead of \\u-escaped webhook bodies")
    args = parser.parse_args(argv)
    return SimConfig(
        host=args.host, port=args.port, callback_url=args.callback_url,
        app_secret=args.app_secret, access_token=args.access_token,
        phone_number_id=args.phone_number_id, display_phone_number=args.display_phone_number,
        waba_id=args.waba_id, webhook_timeout=args.webhook_timeout,
        status_delay=args.status_delay, pair_rate_limit=args.pair_rate_limit,
        messages_per_second=args.mps,
        enforce_window=not args.no_window and _flag(environ, "SIGILLO_SIM_ENFORCE_WINDOW", True),
        fail_unknown_recipients=args.fail_unknown_recipients,
        read_receipts=not args.no_read_receipts,
        ensure_ascii=not args.utf8_webhooks,
    )
