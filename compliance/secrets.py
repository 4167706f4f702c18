"""Secret values with a masked repr, and a logging filter that redacts phone numbers and BSUIDs.

Invariant 1 says no phone number or business-scoped user id rests in clear in logs, at any level.
Code should never log them in the first place (log pseudonyms); the filter is the second line of
defence for the mistakes that slip through: a formatted exception, a library's debug line.
Redaction is deliberately greedy (any run of 7-15 digits that looks like E.164, with optional "+"
and spaces or dashes): a redacted timestamp in a log costs less than a leaked number.
"""

from __future__ import annotations

import logging
import re
from typing import Generic, TypeVar

T = TypeVar("T")

MASK = "**********"

# "+39 333 123 4567", "0039-333...", "15551234567": a digit run of 7-15 digits, not inside a word.
_E164_RE = re.compile(r"(?<![\w.+])\+?(?:00)?[1-9](?:[ \-]?\d){6,14}(?![\w])")
# BSUID: "<ISO alpha-2>.<alnum>", e.g. US.13491208655302741918 (needs a digit, to spare "OK.Done").
_BSUID_RE = re.compile(r"\b[A-Z]{2}\.(?=[0-9A-Za-z]*\d)[0-9A-Za-z]{1,128}\b")
PHONE_MASK = "<phone>"
BSUID_MASK = "<bsuid>"


class Secret(Generic[T]):
    """Holds a secret value; repr and str are masked, the value only comes out through reveal().

    Equality is deliberately not defined beyond identity, so a secret is never compared in a
    non-constant-time way by accident (use primitives.constant_time_equal on revealed bytes).
    """

    __slots__ = ("_value",)

    def __init__(self, value: T) -> None:
        self._value = value

    def reveal(self) -> T:
        return self._value

    get_secret_value = reveal  # the pydantic spelling, for code that expects it

    def __repr__(self) -> str:
        return f"Secret('{MASK}')"

    __str__ = __repr__

    def __reduce__(self) -> tuple[object, ...]:  # pickling would carry the secret off
        raise TypeError("Secret values are not picklable")


def redact(text: str) -> str:
    """`text` with every E.164-looking number and BSUID replaced by a placeholder."""
    return _BSUID_RE.sub(BSUID_MASK, _E164_RE.sub(PHONE_MASK, text))


class RedactingFilter(logging.Filter):
    """Rewrites each record's message (with its args applied) and exception text through redact().

    Attach it to handlers, not loggers: a logger's filters do not see records propagated from
    child loggers. install_log_redaction() does that for the root logger's handlers.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: keep the template only, never the args
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def install_log_redaction(logger: logging.Logger | None = None) -> RedactingFilter:
    """Add one RedactingFilter to every handler of `logger` (default: root); idempotent."""
    target = logger or logging.getLogger()
    filt = RedactingFilter()
    for handler in target.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(filt)
    return filt
