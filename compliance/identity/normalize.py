"""One spelling per identifier, so that one person always gets one pseudonym.

Phones become E.164: "+" and 7-15 digits, no leading zero (ITU-T E.164 §6; 7 digits is the
shortest real number, e.g. Niue +683 xxxx, and matches connectors.whatsapp.sender_identity).
Spaces, dashes, dots, parentheses and an international "00" prefix are dropped; Meta's `wa_id`
("393331234567", no "+") is accepted as is. BSUIDs are "<ISO 3166 alpha-2>.<1-128 alphanumerics>"
(whatsapp-cloud-api.md §3.1) and are kept verbatim: case is significant in the alnum part.
Errors name the field and the rule, never the value.
"""

from __future__ import annotations

import re

from compliance.errors import ConfigError

PHONE = "phone"
BSUID = "bsuid"
KINDS = (PHONE, BSUID)

E164_MIN_DIGITS = 7
E164_MAX_DIGITS = 15
_SEPARATORS_RE = re.compile(r"[\s\-.()]")
_DIGITS_RE = re.compile(rf"[1-9][0-9]{{{E164_MIN_DIGITS - 1},{E164_MAX_DIGITS - 1}}}")
_BSUID_RE = re.compile(r"[A-Z]{2}\.[0-9A-Za-z]{1,128}")


def normalize_identifier(kind: str, value: str) -> str:
    """The canonical spelling of `value` as a `kind` ("phone" or "bsuid"), or ConfigError."""
    if kind == PHONE:
        return normalize_phone(value)
    if kind == BSUID:
        return normalize_bsuid(value)
    raise ConfigError(f"identifier.kind must be one of {list(KINDS)}")


def normalize_phone(value: str) -> str:
    if not isinstance(value, str):
        raise ConfigError("identifier.phone must be a string")
    text = _SEPARATORS_RE.sub("", value)
    if text.startswith("+"):
        text = text[1:]
    elif text.startswith("00"):
        text = text[2:]
    if not (text.isascii() and _DIGITS_RE.fullmatch(text)):
        raise ConfigError(
            f"identifier.phone must be an E.164 number: '+' and {E164_MIN_DIGITS}-"
            f"{E164_MAX_DIGITS} digits, no leading zero"
        )
    return "+" + text


def normalize_bsuid(value: str) -> str:
    if not isinstance(value, str):
        raise ConfigError("identifier.bsuid must be a string")
    text = value.strip()
    if not (text.isascii() and _BSUID_RE.fullmatch(text)):
        raise ConfigError(
            "identifier.bsuid must be '<ISO country code>.<1-128 letters or digits>'"
        )
    return text


def kind_of(normalized: str) -> str:
    """The kind of an already normalized identifier (they cannot be confused: '+' vs 'CC.')."""
    return PHONE if normalized.startswith("+") else BSUID
