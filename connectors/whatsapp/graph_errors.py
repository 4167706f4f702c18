"""Meta Graph API errors, typed by what the caller does next.

::

    GraphError(Exception)        code, subcode, title, details, fbtrace_id, http_status, retryable
    ├── Throttled                slow down, retry          4, 80007, 130429, 131048
    │   └── PairRateLimited      wait 4**X s for this user 131056
    ├── Retryable                transient, back off       1, 2, 131000, 131016, 131057, bare 5xx
    │   └── GraphNetworkError    no HTTP answer at all (raised by graph_client, never mapped)
    ├── Permanent                our bug / account state   100, 131008, 131009, 132000-132018 ...
    ├── AuthError                token invalid or expired  0, 190 (and a bare 401)
    ├── OutsideCustomerWindow    send a template instead   131047
    ├── UserStoppedMarketing     suppress marketing        131050
    └── MarketingLimit           Meta held it; wait 24 h   131049, 130472

Why: the same code arrives synchronously (HTTP 4xx/5xx on ``POST /messages``) or later in a
``failed`` status webhook, and the connector must react to it the same way in both places, so
there is ONE table (``_CODE_TABLE``) and two entry points: ``error_from_graph`` for HTTP answers
and ``error_from_status_error`` for webhook errors. Codes and their meaning come from Meta's
``support/error-codes`` page as summarised in shared whatsapp-cloud-api.md §6, and pywa
``errors.py``. An unknown code degrades by HTTP status: 429 throttles, 5xx or ``is_transient``
retries, anything else is permanent (retry only what Meta says is transient).

Privacy: Meta's texts can echo what we sent (a 132018 ``details`` has been seen quoting the
parameter text). ``str()`` and ``repr()`` therefore show only the code, subcode, fbtrace_id and
a title with long digit runs masked; ``details`` is kept as an attribute for the caller to
inspect and must not be logged.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = [
    "AuthError",
    "GraphError",
    "GraphNetworkError",
    "MarketingLimit",
    "OutsideCustomerWindow",
    "PairRateLimited",
    "Permanent",
    "Retryable",
    "Throttled",
    "UserStoppedMarketing",
    "error_class_for",
    "error_from_graph",
    "error_from_status_error",
]

_TITLE_MAX = 120
# Seven or more digits could be a phone number or a BSUID's numeric part: mask them.
_LONG_DIGITS = re.compile(r"\d{7,}")
_MESSAGE_PREFIX = re.compile(r"^\(#\d+\)\s*")


class GraphError(Exception):
    """An error answered by the Graph API, or reported in a ``failed`` status webhook."""

    retryable: bool = False

    def __init__(
        self,
        code: int | None = None,
        title: str = "",
        *,
        subcode: int | None = None,
        details: str | None = None,
        fbtrace_id: str | None = None,
        http_status: int | None = None,
    ) -> None:
        self.code = code
        self.subcode = subcode
        self.title = _mask(title)
        self.details = details
        self.fbtrace_id = fbtrace_id
        self.http_status = http_status
        super().__init__(self._describe())

    def _describe(self) -> str:
        parts = [f"({self.code if self.code is not None else '-'}) {self.title or 'error'}"]
        if self.subcode is not None:
            parts.append(f"subcode={self.subcode}")
        if self.http_status is not None:
            parts.append(f"http_status={self.http_status}")
        if self.fbtrace_id:
            parts.append(f"fbtrace_id={self.fbtrace_id}")
        return " ".join(parts)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._describe()!r})"


class Throttled(GraphError):
    """Too many calls or messages: wait, then retry (honour Retry-After when given)."""

    retryable = True


class PairRateLimited(Throttled):
    """131056: too many messages to the same user; Meta says retry after 4**X seconds."""


class Retryable(GraphError):
    """Transient fault on Meta's side: retry with backoff a bounded number of times."""

    retryable = True


class GraphNetworkError(Retryable):
    """No HTTP answer (connect/read failure or timeout). Title is the exception class name only."""


class Permanent(GraphError):
    """Retrying cannot help: a bug in the request, a template problem or account state."""


class AuthError(GraphError):
    """The access token is invalid, revoked or expired: alert operators and stop sending."""


class OutsideCustomerWindow(GraphError):
    """131047: more than 24 h since the user last wrote; only a template may be sent."""


class UserStoppedMarketing(GraphError):
    """131050: the user stopped marketing messages; never retry marketing to them."""


class MarketingLimit(GraphError):
    """131049 / 130472: Meta chose not to deliver this marketing message; wait ≥ 24 h."""


# ONE table: code (or inclusive range) → class. Order does not matter; ranges do not overlap.
_CODE_TABLE: tuple[tuple[range, type[GraphError]], ...] = (
    (range(0, 1), AuthError),
    (range(190, 191), AuthError),
    (range(1, 3), Retryable),  # 1 API Unknown, 2 API Service
    (range(3, 4), Permanent),  # capability / method
    (range(4, 5), Throttled),  # app-level call rate
    (range(10, 11), Permanent),  # permission denied
    (range(100, 101), Permanent),  # invalid parameter
    (range(200, 300), Permanent),  # missing permission
    (range(368, 369), Permanent),  # temporarily blocked for policy violation
    (range(80007, 80008), Throttled),  # WABA rate limit
    (range(130429, 130430), Throttled),  # throughput (mps) exceeded
    (range(130472, 130473), MarketingLimit),  # marketing experiment holdout
    (range(131000, 131001), Retryable),  # unknown / internal
    (range(131005, 131006), Permanent),  # access denied
    (range(131008, 131010), Permanent),  # required param missing / value invalid
    (range(131016, 131017), Retryable),  # service unavailable
    (range(131021, 131022), Permanent),  # recipient == sender
    (range(131026, 131027), Permanent),  # undeliverable
    (range(131030, 131032), Permanent),  # not in allowed list / account locked
    (range(131037, 131038), Permanent),  # display name not approved
    (range(131042, 131043), Permanent),  # payment problem
    (range(131047, 131048), OutsideCustomerWindow),
    (range(131048, 131049), Throttled),  # spam rate limit (quality)
    (range(131049, 131050), MarketingLimit),
    (range(131050, 131051), UserStoppedMarketing),
    (range(131051, 131054), Permanent),  # unsupported type; media download/upload failed
    (range(131056, 131057), PairRateLimited),
    (range(131057, 131058), Retryable),  # account in maintenance (throughput upgrade)
    (range(131062, 131063), Permanent),  # BSUID recipient not supported: send to the phone
    (range(132000, 132019), Permanent),  # template problems (132018: bad param text)
    (range(133010, 133011), Permanent),  # phone number not registered
    (range(135000, 135001), Permanent),  # generic user error
)


def error_class_for(
    code: int | None, http_status: int | None = None, is_transient: bool = False
) -> type[GraphError]:
    """The class for ``code``; unknown codes fall back on the HTTP status, then Permanent."""
    if code is not None:
        for codes, cls in _CODE_TABLE:
            if code in codes:
                return cls
    if http_status == 429:
        return Throttled
    if http_status == 401 and code is None:
        return AuthError
    if is_transient or (http_status is not None and http_status >= 500):
        return Retryable
    return Permanent


def error_from_graph(body: Mapping[str, Any] | None, http_status: int) -> GraphError:
    """Map a non-2xx Graph answer to its typed error.

    ``body`` is the decoded JSON (``{"error": {...}}``) or None when the answer was not JSON.
    Never raises on odd shapes: missing or non-numeric fields become None.
    """
    err = body.get("error") if isinstance(body, Mapping) else None
    if not isinstance(err, Mapping):
        cls = error_class_for(None, http_status)
        return cls(None, f"HTTP {http_status}", http_status=http_status)
    code = _as_int(err.get("code"))
    error_data = err.get("error_data")
    details = error_data.get("details") if isinstance(error_data, Mapping) else None
    message = err.get("message")
    title = _MESSAGE_PREFIX.sub("", message) if isinstance(message, str) else ""
    fbtrace = err.get("fbtrace_id")
    cls = error_class_for(code, http_status, is_transient=err.get("is_transient") is True)
    return cls(
        code,
        title,
        subcode=_as_int(err.get("error_subcode")),
        details=details if isinstance(details, str) else None,
        fbtrace_id=fbtrace if isinstance(fbtrace, str) else None,
        http_status=http_status,
    )


def error_from_status_error(
    code: int | str | None, title: str | None = None, details: str | None = None
) -> GraphError:
    """Map one ``statuses[].errors[]`` item of a ``failed`` status webhook to its typed error."""
    parsed = _as_int(code)
    cls = error_class_for(parsed)
    return cls(parsed, title or "", details=details)


def _as_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _mask(title: str) -> str:
    if not isinstance(title, str):
        return ""
    return _LONG_DIGITS.sub("<digits>", title)[:_TITLE_MAX]
