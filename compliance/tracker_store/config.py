"""The store's settings from endpoints.yml, validated once at construction.

Rasa hands a custom tracker store `host=<url>` plus every other key under `tracker_store:` as a
keyword argument. Unknown keys are rejected (a typo must not silently fall back to a default),
and each error names the field and the rule, never the value: a database URL may hold a password.
Note that Rasa replaces a store class that raises ImportError or AttributeError by an in-memory
store, so everything here raises ConfigError instead. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from compliance.errors import ConfigError

DEFAULT_RETENTION_DAYS = 30
DEFAULT_CACHE_SIZE = 1000
_SCHEMES = ("sqlite", "postgresql")
_FIELD = "endpoints.yml tracker_store"


@dataclass(frozen=True)
class StoreConfig:
    """url None means compliance.storage.default_database_url(); key_file None means the
    keyring's own default (SIGILLO_KEY_FILE)."""

    url: str | None
    key_file: str | None
    retention_days: int
    cache_size: int


def parse_config(host: Any, options: Mapping[str, Any]) -> StoreConfig:
    """Validate `url` (Rasa passes it as host) and the options; raise ConfigError naming the key."""
    options = dict(options)
    url = _url(host if host is not None else options.pop("url", None))
    options.pop("url", None)
    key_file = _optional_str("key_file", options.pop("key_file", None))
    retention = _int("retention_days", options.pop("retention_days", DEFAULT_RETENTION_DAYS), 1)
    cache_size = _int("cache_size", options.pop("cache_size", DEFAULT_CACHE_SIZE), 0)
    if options:
        unknown = ", ".join(sorted(str(k) for k in options))
        raise ConfigError(
            f"{_FIELD}: unknown key(s) {unknown}; allowed: url, key_file, retention_days, "
            "cache_size"
        )
    return StoreConfig(url, key_file, retention, cache_size)


def _url(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise ConfigError(f"{_FIELD}.url: must be a string")
    scheme = value.split(":", 1)[0].split("+", 1)[0].lower()
    if scheme not in _SCHEMES or "://" not in value:
        raise ConfigError(
            f"{_FIELD}.url: must be an SQLAlchemy URL starting with sqlite:// or postgresql://"
        )
    return value.strip()


def _optional_str(name: str, value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ConfigError(f"{_FIELD}.{name}: must be a path string")
    return value


def _int(name: str, value: Any, minimum: int) -> int:
    # ${VAR} substitution in Rasa's YAML yields strings, so digit strings are accepted.
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{_FIELD}.{name}: must be an integer >= {minimum}")
    return value
