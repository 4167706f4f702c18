"""WhatsApp channel settings, validated once when the channel is built.

`WhatsAppConfig.from_credentials(credentials, environ)` reads the channel's block of Rasa's
credentials.yml (where `${WHATSAPP_APP_SECRET}` and friends are already substituted by Rasa), falls
back to the WHATSAPP_* environment variables for the keys that have one, and checks every value.
Anything wrong raises `WhatsAppConfigError` at start-up, naming the key and the rule; secret values
(app secret, verify token, access token) are never echoed, and no other value is either, since a
misplaced secret may sit in any key. Unknown keys are rejected so that a typo (`verify_tokn`) fails
loudly instead of silently falling back to a default. Shape follows Rasa's
`twilio_voice._validate_configuration` and httpx's `_config.py`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from connectors.whatsapp import limits
from connectors.whatsapp.media_checks import DEFAULT_MEDIA_MAX_BYTES
from connectors.whatsapp.secrets import Secret

# Graph API versions are "vNN.0" (whatsapp-cloud-api.md §12).
_API_VERSION_RE = re.compile(r"v[1-9][0-9]*\.0")
# Meta object ids (phone number id, WABA id) are decimal strings.
_NUMERIC_ID_RE = re.compile(r"[0-9]{1,32}")
_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})

DEFAULT_API_VERSION = "v23.0"
DEFAULT_API_BASE_URL = "https://graph.facebook.com"
DEFAULT_REQUEST_TIMEOUT_SECONDS = 10.0
DEFAULT_WEBHOOK_PROCESSES = 1  # one core's worth beside the server: the machine has two
DEFAULT_WEBHOOK_HOST = "0.0.0.0"  # as `rasa run` binds: Meta (or its proxy) must reach it
_MAX_WEBHOOK_PROCESSES = 8
# Bounds that catch unit mistakes (a size in MB, a rate in messages per minute).
_MIN_BODY_BYTES = 1024
_MAX_BODY_BYTES = 64 * 1024 * 1024
_MIN_MEDIA_BYTES = 1024  # a cap below a small sticker is a unit mistake (MB for bytes)
_MAX_MESSAGES_PER_SECOND = 1000.0  # Meta's highest automatic throughput tier (throughput page)

# credentials.yml key -> environment variable used when the key is absent or empty.
ENV_FALLBACKS: Mapping[str, str] = {
    "app_secret": "WHATSAPP_APP_SECRET",
    "verify_token": "WHATSAPP_VERIFY_TOKEN",
    "access_token": "WHATSAPP_ACCESS_TOKEN",
    "phone_number_id": "WHATSAPP_PHONE_NUMBER_ID",
    "api_version": "WHATSAPP_API_VERSION",
    "api_base_url": "WHATSAPP_API_BASE_URL",
    "pacing_redis_url": "WHATSAPP_PACING_REDIS_URL",
    "webhook_port": "WHATSAPP_WEBHOOK_PORT",
    "webhook_host": "WHATSAPP_WEBHOOK_HOST",
    "pin_cores": "WHATSAPP_PIN_CORES",
}

ALLOWED_KEYS = frozenset(
    {
        *ENV_FALLBACKS,
        "max_body_bytes",
        "messages_per_second",
        "download_media",
        "media_max_bytes",
        "unsupported_reply",
        "request_timeout_seconds",
        "webhook_processes",
    }
)


class WhatsAppConfigError(ValueError):
    """A WhatsApp channel setting is missing or invalid; `key` names it. Never holds its value."""

    def __init__(self, key: str, rule: str) -> None:
        source = ENV_FALLBACKS.get(key)
        where = f"'{key}' (credentials.yml" + (f" or {source})" if source else ")")
        super().__init__(f"WhatsApp channel setting {where}: {rule}")
        self.key = key
        self.rule = rule


@dataclass(frozen=True, slots=True)
class WhatsAppConfig:
    """Validated settings of the WhatsApp channel. Build it with `from_credentials`."""

    app_secret: Secret = field(repr=False)
    verify_token: Secret = field(repr=False)
    access_token: Secret = field(repr=False)
    phone_number_id: str
    api_version: str = DEFAULT_API_VERSION
    api_base_url: str = DEFAULT_API_BASE_URL
    max_body_bytes: int = limits.WEBHOOK_BODY_MAX_BYTES
    messages_per_second: float = limits.DEFAULT_MESSAGES_PER_SECOND
    download_media: bool = False
    media_max_bytes: int = DEFAULT_MEDIA_MAX_BYTES
    unsupported_reply: str | None = None
    request_timeout_seconds: float = DEFAULT_REQUEST_TIMEOUT_SECONDS
    # Worker processes that record webhooks off the Rasa server's interpreter lock
    # (receiver_pool.py); 0 records them on threads of the server.
    webhook_processes: int = DEFAULT_WEBHOOK_PROCESSES
    # The webhook front (webhook_front.py): Meta's callback served by a process of its own on
    # this port, beside the Rasa server; None serves it on the Rasa server's own port only.
    webhook_port: int | None = None
    webhook_host: str = DEFAULT_WEBHOOK_HOST
    # Shared pacing across servers (pacing_redis.py); None: each process paces on its own.
    # A Secret: a Redis URL may carry a password.
    pacing_redis_url: Secret | None = field(default=None, repr=False)
    # The Rasa server on a core of its own, its webhook front or workers on the others
    # (cpu_affinity.py). Off by default: two servers on one host without a cpuset of their own
    # would both take the same core. The reference stack (devstack) turns it on.
    pin_cores: bool = False

    @property
    def messages_url(self) -> str:
        """`POST` target for sends and read receipts (whatsapp-cloud-api.md §7)."""
        return f"{self.api_base_url}/{self.api_version}/{self.phone_number_id}/messages"

    @classmethod
    def from_credentials(
        cls, credentials: Mapping[str, Any] | None, environ: Mapping[str, str]
    ) -> WhatsAppConfig:
        """Validate credentials.yml values (env vars as fallback) into a config.

        Raises WhatsAppConfigError naming the first offending key.
        """
        creds: Mapping[str, Any] = credentials or {}
        if not isinstance(creds, Mapping):
            raise WhatsAppConfigError("whatsapp", "the channel block must be a mapping of keys")
        unknown = sorted(str(k) for k in creds if k not in ALLOWED_KEYS)
        if unknown:
            raise WhatsAppConfigError(
                unknown[0], f"unknown key; allowed keys are {', '.join(sorted(ALLOWED_KEYS))}"
            )

        def raw(key: str) -> Any:
            value = creds.get(key)
            if (value is None or value == "") and key in ENV_FALLBACKS:
                value = environ.get(ENV_FALLBACKS[key])
            return None if value == "" else value

        return cls(
            app_secret=_secret(raw("app_secret"), "app_secret"),
            verify_token=_secret(raw("verify_token"), "verify_token"),
            access_token=_secret(raw("access_token"), "access_token"),
            phone_number_id=_phone_number_id(raw("phone_number_id")),
            api_version=_api_version(raw("api_version")),
            api_base_url=_base_url(raw("api_base_url")),
            max_body_bytes=_int_in_range(
                raw("max_body_bytes"), "max_body_bytes", limits.WEBHOOK_BODY_MAX_BYTES,
                _MIN_BODY_BYTES, _MAX_BODY_BYTES,
            ),
            messages_per_second=_number_in_range(
                raw("messages_per_second"), "messages_per_second",
                limits.DEFAULT_MESSAGES_PER_SECOND, _MAX_MESSAGES_PER_SECOND,
            ),
            download_media=parse_bool(raw("download_media"), "download_media", default=False),
            media_max_bytes=_int_in_range(
                raw("media_max_bytes"), "media_max_bytes", DEFAULT_MEDIA_MAX_BYTES,
                _MIN_MEDIA_BYTES, limits.MEDIA_DOWNLOAD_MAX_BYTES,
            ),
            unsupported_reply=_optional_text(raw("unsupported_reply"), "unsupported_reply"),
            request_timeout_seconds=_number_in_range(
                raw("request_timeout_seconds"), "request_timeout_seconds",
                DEFAULT_REQUEST_TIMEOUT_SECONDS, 120.0,
            ),
            webhook_processes=_int_in_range(
                raw("webhook_processes"), "webhook_processes", DEFAULT_WEBHOOK_PROCESSES,
                0, _MAX_WEBHOOK_PROCESSES,
            ),
            pacing_redis_url=_redis_url(raw("pacing_redis_url")),
            webhook_port=_optional_port(raw("webhook_port")),
            webhook_host=_host(raw("webhook_host")),
            pin_cores=parse_bool(raw("pin_cores"), "pin_cores", default=False),
        )


def _secret(value: Any, key: str) -> Secret:
    if value is None:
        raise WhatsAppConfigError(key, "is required and was not set")
    if not isinstance(value, str):
        raise WhatsAppConfigError(key, "must be a string (quote it in YAML)")
    if value != value.strip():
        # A pasted secret with a trailing newline makes every signature check fail mysteriously.
        raise WhatsAppConfigError(key, "must not start or end with whitespace")
    return Secret(value)


def _phone_number_id(value: Any) -> str:
    if value is None:
        raise WhatsAppConfigError("phone_number_id", "is required and was not set")
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not _NUMERIC_ID_RE.fullmatch(value):
        raise WhatsAppConfigError(
            "phone_number_id", "must be the numeric phone number id from WhatsApp Manager"
        )
    return value


def _api_version(value: Any) -> str:
    if value is None:
        return DEFAULT_API_VERSION
    if not isinstance(value, str) or not _API_VERSION_RE.fullmatch(value):
        raise WhatsAppConfigError("api_version", "must look like 'v23.0' (v<major>.0)")
    return value


def _base_url(value: Any) -> str:
    if value is None:
        return DEFAULT_API_BASE_URL
    if not isinstance(value, str):
        raise WhatsAppConfigError("api_base_url", "must be a string URL")
    try:
        parts = urlsplit(value)
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        port_ok = False
        parts = None
    if (
        parts is None
        or not port_ok
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.username is not None
        or parts.query
        or parts.fragment
    ):
        raise WhatsAppConfigError(
            "api_base_url",
            "must be an http(s) URL with a host and no credentials, query or fragment",
        )
    return value.rstrip("/")


def _redis_url(value: Any) -> Secret | None:
    """redis://, rediss:// (TLS) or unix:// as redis-py reads them; the value is never echoed."""
    if value is None:
        return None
    rule = "must be a redis://host[:port][/db], rediss://… or unix://path URL"
    if not isinstance(value, str) or value != value.strip():
        raise WhatsAppConfigError("pacing_redis_url", rule)
    try:
        parts = urlsplit(value)
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        raise WhatsAppConfigError("pacing_redis_url", rule) from None
    where = parts.path if parts.scheme == "unix" else parts.hostname
    if parts.scheme not in ("redis", "rediss", "unix") or not where or not port_ok:
        raise WhatsAppConfigError("pacing_redis_url", rule)
    if parts.scheme != "unix" and parts.path not in ("", "/") and not parts.path[1:].isdigit():
        raise WhatsAppConfigError("pacing_redis_url", rule + " (the database is a number)")
    # The ?options are read by redis-py only when the pacer first connects, and a bad one
    # (`?db=x`, `?ssl_cert_reqs=` on redis://, a typo) would then fail every send: build the
    # connection the pacer will use (no I/O) so it fails here instead.
    from redis.asyncio.connection import ConnectionPool
    from redis.exceptions import RedisError

    try:
        ConnectionPool.from_url(value).make_connection()
    except (TypeError, ValueError, RedisError):  # their text may quote the value: not echoed
        raise WhatsAppConfigError("pacing_redis_url", rule + " (an invalid ?option)") from None
    return Secret(value)


def _optional_port(value: Any) -> int | None:
    if value is None:
        return None
    return _int_in_range(value, "webhook_port", 0, 1, 65535)


def _host(value: Any) -> str:
    if value is None:
        return DEFAULT_WEBHOOK_HOST
    if not isinstance(value, str) or not value or any(c.isspace() or c in "/:@" for c in value):
        # ':' too: a port belongs in webhook_port (an IPv6 host is not supported here).
        raise WhatsAppConfigError("webhook_host", "must be a host name or IPv4 address, no port")
    return value


def _int_in_range(value: Any, key: str, default: int, low: int, high: int) -> int:
    if value is None:
        return default
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise WhatsAppConfigError(key, f"must be an integer between {low} and {high}")
    return value


def _number_in_range(value: Any, key: str, default: float, high: float) -> float:
    if value is None:
        return default
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            value = None  # reported below with the same message as any other wrong value
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= high:
        raise WhatsAppConfigError(key, f"must be a number above 0 and at most {high:g}")
    return float(value)


def parse_bool(value: Any, key: str, *, default: bool) -> bool:
    """A yes/no setting (YAML boolean or true/false, yes/no, on/off, 1/0); None: `default`."""
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise WhatsAppConfigError(key, "must be true or false")


def _optional_text(value: Any, key: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise WhatsAppConfigError(key, "must be a non-empty string, or left out")
    if len(value) > limits.TEXT_BODY_MAX:
        raise WhatsAppConfigError(key, f"must be at most {limits.TEXT_BODY_MAX} characters")
    return value
