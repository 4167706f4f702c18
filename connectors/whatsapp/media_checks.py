"""Inbound media download, the pure part: size and hash checks, failure codes, Rasa metadata.

Source: whatsapp-cloud-api.md §9. `GET /{version}/{media-id}` answers `url`, `mime_type`,
`sha256` and `file_size` (a string in Meta's OpenAPI, a number in some fixtures); the webhook
gives `sha256` in base64, Meta's media-URL answers have been seen in hex: both are accepted.
Meta's own upload limits top out at 16 MB for audio and video (documents go to 100 MB), hence
the default cap; a larger one is a channel setting (`media_max_bytes`).

A failure is a `MediaFailure` code: it goes to the log, the audit entry and Rasa's metadata,
never Meta's error text (which can quote what the user sent) nor the URL.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import re
from enum import Enum
from typing import Any

from connectors.whatsapp.graph_errors import (
    AuthError,
    GraphError,
    Permanent,
    Retryable,
    Throttled,
)

# whatsapp-cloud-api.md §9: audio and video 16 MB, images 5 MB, stickers 500 KB.
DEFAULT_MEDIA_MAX_BYTES = 16 * 1024 * 1024
# Graph's "object does not exist" (§6 code 100, subcode 33) for an unknown or expired media id.
_UNKNOWN_OBJECT_CODE = 100
_HEX_SHA256 = re.compile(r"[0-9a-fA-F]{64}")

# Keys the channel puts in Rasa's metadata (inbound_mapping.py adds media_kind and mime_type).
META_MEDIA_ID = "media_id"
META_STATUS = "media_status"
META_HANDLE = "media_handle"
META_SIZE = "media_size"
META_REASON = "media_unavailable_reason"


class MediaFailure(str, Enum):
    """Why a media object is unavailable to the bot."""

    NOT_FOUND = "not_found"  # unknown or expired media id, or the URL 404s twice
    UNAVAILABLE = "unavailable"  # 5xx, throttling or network errors after the retries
    TOO_LARGE = "too_large"  # declared or actual size over the cap
    HASH_MISMATCH = "hash_mismatch"  # bytes do not match Meta's sha256
    HOST_NOT_ALLOWED = "host_not_allowed"  # URL not on Meta's hosts: the token stays with us
    AUTH_FAILED = "auth_failed"  # token rejected
    BAD_RESPONSE = "bad_response"  # an answer we cannot use (no URL, no or malformed sha256)
    TIMEOUT = "timeout"  # the whole download took longer than its budget
    STORAGE_FAILED = "storage_failed"  # fetched, but could not be stored (database, erasure)


class MediaUnavailable(Exception):
    """Raised inside the download to stop it with a code; carries no text from Meta."""

    def __init__(self, failure: MediaFailure) -> None:
        super().__init__(failure.value)
        self.failure = failure


def parse_sha256(value: object) -> bytes | None:
    """The 32-byte digest from Meta's hex or base64 text; None if it is neither."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if _HEX_SHA256.fullmatch(text):
        return bytes.fromhex(text)
    try:
        digest = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        try:
            digest = base64.urlsafe_b64decode(text)
        except (binascii.Error, ValueError):
            return None
    return digest if len(digest) == hashlib.sha256().digest_size else None


def check_declared(file_size: int | None, sha256: str | None, cap: int) -> MediaFailure | None:
    """Before downloading: refuse what Meta says is too large, or cannot be verified after."""
    if file_size is not None and file_size > cap:
        return MediaFailure.TOO_LARGE
    if parse_sha256(sha256) is None:
        # No digest, no integrity check: an HTML error page or a swapped file would be stored
        # as the user's photo. Meta documents a sha256 on every media object (§4, §9).
        return MediaFailure.BAD_RESPONSE
    return None


def check_content(data: bytes, sha256: str | None, cap: int) -> MediaFailure | None:
    """After downloading: the size cap, then the digest (compared in constant time)."""
    if len(data) > cap:
        return MediaFailure.TOO_LARGE
    expected = parse_sha256(sha256)
    if expected is None:
        return MediaFailure.BAD_RESPONSE
    if not hmac.compare_digest(hashlib.sha256(data).digest(), expected):
        return MediaFailure.HASH_MISMATCH
    return None


def failure_of(exc: BaseException, *, downloading: bool) -> MediaFailure:
    """The code for an exception out of the Graph client (after its own retries)."""
    if isinstance(exc, MediaUnavailable):
        return exc.failure
    if isinstance(exc, asyncio.TimeoutError):
        return MediaFailure.TIMEOUT
    if isinstance(exc, ValueError):
        # graph_client raises ValueError before any request: a media id that is not a Graph
        # id, or (downloading) a URL whose host is not Meta's nor the configured Graph host.
        return MediaFailure.HOST_NOT_ALLOWED if downloading else MediaFailure.BAD_RESPONSE
    if isinstance(exc, AuthError):
        return MediaFailure.AUTH_FAILED
    if isinstance(exc, Throttled | Retryable):
        return MediaFailure.UNAVAILABLE
    if isinstance(exc, GraphError):
        if exc.http_status == 404 or exc.code == _UNKNOWN_OBJECT_CODE:
            return MediaFailure.NOT_FOUND
        if downloading and isinstance(exc, Permanent) and exc.http_status is None:
            # graph_client's only HTTP-less Permanent while streaming is its size cap.
            return MediaFailure.TOO_LARGE
        return MediaFailure.BAD_RESPONSE
    return MediaFailure.UNAVAILABLE


def stored_metadata(
    metadata: dict[str, Any], handle: str, size: int, mime_type: str | None
) -> dict[str, Any]:
    """Rasa's metadata once the media is stored: our handle instead of Meta's id."""
    out = _without_meta_reference(metadata)
    out.update({META_STATUS: "stored", META_HANDLE: handle, META_SIZE: size})
    if mime_type and not out.get("mime_type"):
        out["mime_type"] = mime_type
    return out


def unavailable_metadata(metadata: dict[str, Any], failure: MediaFailure) -> dict[str, Any]:
    """Rasa's metadata when the download failed: the message still goes through, saying so."""
    out = _without_meta_reference(metadata)
    out.update({META_STATUS: "unavailable", META_REASON: failure.value})
    return out


def _without_meta_reference(metadata: dict[str, Any]) -> dict[str, Any]:
    # With downloads on, Meta's media id would be a second way to the content for 7 days
    # (§9), outside the subject's key and out of erasure's reach: Rasa gets our handle only.
    return {k: v for k, v in metadata.items() if k != META_MEDIA_ID}
