"""Webhook authenticity: the POST signature and the GET verification handshake.

Meta signs every webhook POST with `X-Hub-Signature-256: sha256=<64 lowercase hex>`, an
HMAC-SHA256 of the raw request body under the app secret (whatsapp-cloud-api.md §2). The check runs
first, on the exact bytes received, before any JSON parsing: re-serialising parsed JSON changes
`\\uXXXX` escapes and spacing and breaks the HMAC on some messages only. The header format is
checked strictly, like courier's `validateSignature` (71-character header), and compared with
`hmac.compare_digest`.

Outcomes are values, not exceptions, because each maps to an HTTP answer (pywa `server.py`):
missing header → 401, malformed or wrong signature → 403. Nothing here logs, and no result carries
the body, the header or the secret.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from connectors.whatsapp.secrets import Secret

SIGNATURE_HEADER = "X-Hub-Signature-256"
_PREFIX = "sha256="
_HEADER_RE = re.compile(r"sha256=[0-9a-f]{64}")


class SignatureStatus(enum.Enum):
    VALID = "valid"
    MISSING = "missing"  # no header, or an empty one
    MALFORMED = "malformed"  # wrong prefix, uppercase or short hex, stray whitespace
    MISMATCH = "mismatch"  # well-formed but not our HMAC of these bytes


_HTTP_STATUS = {
    SignatureStatus.VALID: 200,
    SignatureStatus.MISSING: 401,
    SignatureStatus.MALFORMED: 403,
    SignatureStatus.MISMATCH: 403,
}


@dataclass(frozen=True, slots=True)
class SignatureResult:
    """The outcome of a signature check and the HTTP status the webhook should answer with."""

    status: SignatureStatus

    @property
    def ok(self) -> bool:
        return self.status is SignatureStatus.VALID

    @property
    def http_status(self) -> int:
        return _HTTP_STATUS[self.status]

    @property
    def reason(self) -> str:
        """A short, content-free reason suitable for a 4xx body and a log line."""
        return f"signature {self.status.value}"


def compute_signature(app_secret: bytes | Secret, raw_body: bytes) -> str:
    """The header value Meta would send for `raw_body`: "sha256=" + lowercase hex HMAC-SHA256."""
    key = app_secret.as_bytes() if isinstance(app_secret, Secret) else app_secret
    return _PREFIX + hmac.new(key, raw_body, hashlib.sha256).hexdigest()


def verify_signature(
    app_secret: bytes | Secret, raw_body: bytes, header: str | None
) -> SignatureResult:
    """Check `X-Hub-Signature-256` against the raw body bytes.

    Preconditions: `raw_body` is the request body exactly as received (Sanic: `request.body`), and
    `app_secret` is non-empty. A `str` body is refused with TypeError, since encoding it again is
    the very mistake that breaks signatures.
    """
    if not isinstance(raw_body, bytes | bytearray | memoryview):
        raise TypeError("raw_body must be the request body bytes, not decoded text")
    key = app_secret.as_bytes() if isinstance(app_secret, Secret) else app_secret
    if not isinstance(key, bytes) or not key:
        raise ValueError("app_secret must be non-empty bytes")
    if header is None or header == "":
        return SignatureResult(SignatureStatus.MISSING)
    if not isinstance(header, str) or not _HEADER_RE.fullmatch(header):
        return SignatureResult(SignatureStatus.MALFORMED)
    expected = compute_signature(key, bytes(raw_body))
    if hmac.compare_digest(expected.encode("ascii"), header.encode("ascii")):
        return SignatureResult(SignatureStatus.VALID)
    return SignatureResult(SignatureStatus.MISMATCH)


def check_verify_token(
    params: Mapping[str, str | Sequence[str]], expected: Secret | str
) -> str | None:
    """The GET handshake: the `hub.challenge` string to echo, or None to refuse (answer 403).

    Accepts only `hub.mode == "subscribe"` with a `hub.verify_token` equal (constant time) to the
    configured token and a non-empty challenge. The challenge is returned exactly as sent, to be
    answered as the whole plain-text body (no JSON quoting, no newline; §1). `params` may be a plain
    mapping or Sanic's `request.args`, whose values are lists.
    """
    mode = _first(params, "hub.mode")
    token = _first(params, "hub.verify_token")
    challenge = _first(params, "hub.challenge")
    if mode != "subscribe" or token is None or not challenge:
        return None
    secret = expected if isinstance(expected, Secret) else Secret(expected)
    if not secret.reveal():
        return None  # an unset token must never match an empty one
    return challenge if secret.matches(token) else None


def _first(params: Mapping[str, str | Sequence[str]], key: str) -> str | None:
    value = params.get(key)
    if isinstance(value, str):
        return value
    if isinstance(value, Sequence) and value and isinstance(value[0], str):
        return value[0]
    return None
