"""One-off generator of the signature vectors in this folder (kept so anyone can reproduce them).

Run from the repository root:  .venv/bin/python tests/vectors/signature/make_vectors.py
Each vector stores the body as base64 of its exact bytes (so no JSON or editor can re-encode it),
the app secret, the header and the expected status. The valid header is computed here with the
standard library only, independently of connectors/whatsapp/signature.py:

    "sha256=" + hmac.new(secret.encode(), body_bytes, hashlib.sha256).hexdigest()
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
SECRET = "test-app-secret-0123456789abcdef"  # a test secret, never a real app's
WRONG_SECRET = "test-app-secret-0123456789abcdeg"

# Meta-like spacing (no spaces), non-ASCII escaped as \uXXXX (emoji as a surrogate pair).
ESCAPED = (
    b'{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":'
    b'{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881",'
    b'"phone_number_id":"106540352242922"},"contacts":[{"profile":{"name":"Luc\\u00eda"},'
    b'"wa_id":"16505551234"}],"messages":[{"from":"16505551234","id":"wamid.VEC1",'
    b'"timestamp":"1750000000","text":{"body":"Caf\\u00e9 \\ud83d\\ude00 \\u00e8 pronto?"},'
    b'"type":"text"}]},"field":"messages"}]}]}'
)
# The same content with raw UTF-8 and pretty-printed spacing.
RAW_UTF8 = json.dumps(json.loads(ESCAPED), ensure_ascii=False, indent=2).encode("utf-8")
# Raw UTF-8 emoji and accents in compact form, with a trailing newline.
RAW_COMPACT = (
    json.dumps(json.loads(ESCAPED), ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
)


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def vector(name: str, body: bytes, header: str | None, status: str, note: str) -> dict:
    return {
        "name": name,
        "note": note,
        "app_secret": SECRET,
        "body_b64": base64.b64encode(body).decode(),
        "header": header,
        "want": status,
    }


def main() -> None:
    good = sign(SECRET, ESCAPED)
    reserialized = json.dumps(json.loads(ESCAPED)).encode()  # Python's default spacing
    vectors = [
        vector(
            "valid-escaped", ESCAPED, good, "valid", "\\uXXXX escapes, Meta-like compact spacing"
        ),
        vector(
            "valid-raw-utf8-pretty",
            RAW_UTF8,
            sign(SECRET, RAW_UTF8),
            "valid",
            "raw UTF-8, indented",
        ),
        vector(
            "valid-raw-utf8-compact-newline",
            RAW_COMPACT,
            sign(SECRET, RAW_COMPACT),
            "valid",
            "raw UTF-8 emoji/accents, trailing newline",
        ),
        vector("valid-empty-body", b"", sign(SECRET, b""), "valid", "HMAC of zero bytes"),
        vector("missing-header", ESCAPED, None, "missing", "no X-Hub-Signature-256 -> 401"),
        vector("empty-header", ESCAPED, "", "missing", "empty header counts as missing -> 401"),
        vector(
            "wrong-prefix-sha1", ESCAPED, "sha1=" + good[7:], "malformed", "X-Hub-Signature style"
        ),
        vector("no-prefix", ESCAPED, good[7:], "malformed", "bare hex"),
        vector(
            "uppercase-prefix",
            ESCAPED,
            "SHA256=" + good[7:],
            "malformed",
            "prefix is case-sensitive",
        ),
        vector(
            "uppercase-hex",
            ESCAPED,
            "sha256=" + good[7:].upper(),
            "malformed",
            "Meta sends lowercase",
        ),
        vector("short-hex", ESCAPED, good[:-1], "malformed", "63 hex digits"),
        vector("long-hex", ESCAPED, good + "0", "malformed", "65 hex digits"),
        vector("non-hex", ESCAPED, good[:-1] + "g", "malformed", "a non-hex character"),
        vector("leading-space", ESCAPED, " " + good, "malformed", "no trimming"),
        vector("two-signatures", ESCAPED, good + "," + good, "malformed", "a list is not accepted"),
        vector(
            "wrong-secret",
            ESCAPED,
            sign(WRONG_SECRET, ESCAPED),
            "mismatch",
            "last key char differs",
        ),
        vector(
            "body-reserialized",
            reserialized,
            good,
            "mismatch",
            "json.dumps(json.loads(body)): same data, other bytes -> must fail",
        ),
        vector(
            "body-unescaped",
            RAW_COMPACT.rstrip(b"\n"),
            good,
            "mismatch",
            "escapes decoded to raw UTF-8 -> must fail",
        ),
        vector("body-truncated", ESCAPED[:-1], good, "mismatch", "last byte dropped"),
        vector("body-appended", ESCAPED + b" ", good, "mismatch", "one byte of garbage appended"),
        vector(
            "body-bit-flip",
            bytes([ESCAPED[0] ^ 1]) + ESCAPED[1:],
            good,
            "mismatch",
            "first bit flipped",
        ),
        vector(
            "signature-bit-flip",
            ESCAPED,
            good[:-1] + ("0" if good[-1] != "0" else "1"),
            "mismatch",
            "last hex digit changed",
        ),
    ]
    (HERE / "vectors.json").write_text(
        json.dumps({"vectors": vectors}, indent=2) + "\n", encoding="utf-8"
    )


if __name__ == "__main__":
    main()
