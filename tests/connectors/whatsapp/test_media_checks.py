"""The pure part of media download: digests in hex or base64, the size cap, failure codes and
the metadata Rasa gets. Table-driven; digests are computed with hashlib in the table itself."""

from __future__ import annotations

import asyncio
import base64
import hashlib

import pytest

from connectors.whatsapp.graph_errors import (
    AuthError,
    GraphNetworkError,
    Permanent,
    Retryable,
    Throttled,
)
from connectors.whatsapp.media_checks import (
    META_HANDLE,
    META_MEDIA_ID,
    META_REASON,
    META_SIZE,
    META_STATUS,
    MediaFailure,
    MediaUnavailable,
    check_content,
    check_declared,
    failure_of,
    parse_sha256,
    stored_metadata,
    unavailable_metadata,
)

DATA = b"\xff\xd8\xff\xe0 a tiny jpeg"
DIGEST = hashlib.sha256(DATA).digest()
B64 = base64.b64encode(DIGEST).decode()
HEX = DIGEST.hex()


@pytest.mark.parametrize(
    "text, expected",
    [
        (B64, DIGEST),
        (HEX, DIGEST),
        (HEX.upper(), DIGEST),
        (f"  {B64}\n", DIGEST),
        (base64.urlsafe_b64encode(DIGEST).decode(), DIGEST),
        (base64.b64encode(DIGEST[:31]).decode(), None),
        (HEX[:-2], None),
        ("not a digest", None),
        ("", None),
        (None, None),
        (12345, None),
    ],
    ids=[
        "base64_webhook_form",
        "hex",
        "hex_upper",
        "surrounding_space",
        "base64_urlsafe",
        "31_bytes",
        "hex_truncated",
        "garbage",
        "empty",
        "missing",
        "not_a_string",
    ],
)
def test_parse_sha256(text: object, expected: bytes | None) -> None:
    assert parse_sha256(text) == expected


CAP = 1024


@pytest.mark.parametrize(
    "file_size, sha256, expected",
    [
        (None, B64, None),
        (CAP, HEX, None),
        (CAP + 1, B64, MediaFailure.TOO_LARGE),
        (None, None, MediaFailure.BAD_RESPONSE),
        (10, "zz", MediaFailure.BAD_RESPONSE),
    ],
    ids=["size_unknown", "exactly_the_cap", "declared_over_cap", "no_digest", "bad_digest"],
)
def test_check_declared(file_size: int | None, sha256: str | None, expected) -> None:
    assert check_declared(file_size, sha256, CAP) == expected


@pytest.mark.parametrize(
    "data, sha256, expected",
    [
        (DATA, B64, None),
        (DATA, HEX, None),
        (DATA + b"\x00", B64, MediaFailure.HASH_MISMATCH),
        (b"<html>login</html>", B64, MediaFailure.HASH_MISMATCH),
        (bytes([DATA[0] ^ 1]) + DATA[1:], HEX, MediaFailure.HASH_MISMATCH),
        (
            b"x" * (CAP + 1),
            base64.b64encode(hashlib.sha256(b"x" * (CAP + 1)).digest()).decode(),
            MediaFailure.TOO_LARGE,
        ),
        (DATA, None, MediaFailure.BAD_RESPONSE),
    ],
    ids=[
        "ok_base64",
        "ok_hex",
        "appended_byte",
        "html_instead_of_file",
        "flipped_bit",
        "over_cap_even_if_hash_matches",
        "no_digest",
    ],
)
def test_check_content(data: bytes, sha256: str | None, expected) -> None:
    assert check_content(data, sha256, CAP) == expected


@pytest.mark.parametrize(
    "exc, downloading, expected",
    [
        (Permanent(100, "Unsupported get request", http_status=400), False, "not_found"),
        (Permanent(None, "HTTP 404", http_status=404), True, "not_found"),
        (Permanent(None, "media larger than max_bytes"), True, "too_large"),
        (Permanent(131053, "upload failed", http_status=400), False, "bad_response"),
        (Retryable(None, "HTTP 503", http_status=503), True, "unavailable"),
        (Throttled(130429, "rate", http_status=429), False, "unavailable"),
        (GraphNetworkError(None, "ConnectTimeout"), True, "unavailable"),
        (AuthError(190, "token expired", http_status=401), False, "auth_failed"),
        (ValueError("download_media: URL host is not a Meta media host"), True, "host_not_allowed"),
        (ValueError("media_id: must be a Graph object id"), False, "bad_response"),
        (asyncio.TimeoutError(), False, "timeout"),
        (MediaUnavailable(MediaFailure.HASH_MISMATCH), False, "hash_mismatch"),
        (RuntimeError("anything else"), False, "unavailable"),
    ],
    ids=[
        "unknown_media_id",
        "url_404",
        "streamed_over_cap",
        "other_permanent",
        "5xx_after_retries",
        "throttled_after_retries",
        "network",
        "token",
        "foreign_host",
        "bad_media_id",
        "budget_exceeded",
        "already_coded",
        "unexpected",
    ],
)
def test_failure_of(exc: BaseException, downloading: bool, expected: str) -> None:
    assert failure_of(exc, downloading=downloading).value == expected


BASE = {
    "message_type": "image",
    "country_code": "44",
    "media_kind": "image",
    META_MEDIA_ID: "1234567890123456",
    "mime_type": "image/jpeg",
    "has_caption": False,
}


def test_stored_metadata_replaces_metas_id_with_our_handle() -> None:
    out = stored_metadata(BASE, "med_" + "a" * 32, 2048, "image/png")
    assert META_MEDIA_ID not in out
    assert out[META_STATUS] == "stored" and out[META_HANDLE] == "med_" + "a" * 32
    assert out[META_SIZE] == 2048
    assert out["mime_type"] == "image/jpeg"  # the webhook's, when it has one
    assert BASE[META_MEDIA_ID]  # the input is not modified
    assert stored_metadata({**BASE, "mime_type": None}, "h", 1, "image/png")["mime_type"] == (
        "image/png"
    )


def test_unavailable_metadata_says_why_and_drops_metas_id() -> None:
    out = unavailable_metadata(BASE, MediaFailure.TOO_LARGE)
    assert out[META_STATUS] == "unavailable" and out[META_REASON] == "too_large"
    assert META_MEDIA_ID not in out and META_HANDLE not in out
    assert out["message_type"] == "image" and out["country_code"] == "44"
