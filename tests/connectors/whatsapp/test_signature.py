"""Signature and handshake tests, pinned by the vectors in tests/vectors/signature/.

The vectors were produced by tests/vectors/signature/make_vectors.py with the standard library's
hmac alone; rerun it to reproduce them (it rewrites vectors.json byte for byte).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from connectors.whatsapp.secrets import Secret
from connectors.whatsapp.signature import (
    SignatureStatus,
    check_verify_token,
    compute_signature,
    verify_signature,
)

VECTORS_DIR = Path(__file__).resolve().parents[2] / "vectors" / "signature"
VECTORS = json.loads((VECTORS_DIR / "vectors.json").read_text(encoding="utf-8"))["vectors"]
HTTP = {"valid": 200, "missing": 401, "malformed": 403, "mismatch": 403}


@pytest.mark.parametrize("vec", VECTORS, ids=[v["name"] for v in VECTORS])
def test_signature_vector(vec):
    body = base64.b64decode(vec["body_b64"])
    result = verify_signature(vec["app_secret"].encode(), body, vec["header"])
    assert result.status is SignatureStatus(vec["want"])
    assert result.ok is (vec["want"] == "valid")
    assert result.http_status == HTTP[vec["want"]]


@pytest.mark.parametrize("vec", VECTORS, ids=[v["name"] for v in VECTORS])
def test_secret_wrapper_gives_the_same_answer(vec):
    body = base64.b64decode(vec["body_b64"])
    result = verify_signature(Secret(vec["app_secret"]), body, vec["header"])
    assert result.status is SignatureStatus(vec["want"])


def test_vectors_cover_non_ascii_and_escapes():
    bodies = [base64.b64decode(v["body_b64"]) for v in VECTORS if v["want"] == "valid"]
    assert any(b"\\ud83d\\ude00" in b for b in bodies)  # escaped emoji (surrogate pair)
    assert any("😀".encode() in b for b in bodies)  # raw UTF-8 emoji
    assert any("è".encode() in b for b in bodies)


def test_compute_signature_matches_valid_vector():
    vec = VECTORS[0]
    body = base64.b64decode(vec["body_b64"])
    assert compute_signature(vec["app_secret"].encode(), body) == vec["header"]


def test_vectors_file_is_reproducible(tmp_path, monkeypatch):
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_vectors", VECTORS_DIR / "make_vectors.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "HERE", tmp_path)
    module.main()
    assert (tmp_path / "vectors.json").read_bytes() == (VECTORS_DIR / "vectors.json").read_bytes()


def test_str_body_is_refused():
    with pytest.raises(TypeError):
        verify_signature(b"k", "{}", "sha256=" + "0" * 64)  # type: ignore[arg-type]


def test_empty_secret_is_refused():
    with pytest.raises(ValueError):
        verify_signature(b"", b"{}", "sha256=" + "0" * 64)


def test_result_reason_is_content_free():
    vec = VECTORS[0]
    result = verify_signature(b"other", base64.b64decode(vec["body_b64"]), vec["header"])
    assert result.reason == "signature mismatch"
    assert vec["header"] not in repr(result)


# --- GET handshake ------------------------------------------------------------------------------

TOKEN = "verify-me-42"


@pytest.mark.parametrize(
    ("params", "want"),
    [
        ({"hub.mode": "subscribe", "hub.verify_token": TOKEN, "hub.challenge": "1158201444"},
         "1158201444"),
        ({"hub.mode": ["subscribe"], "hub.verify_token": [TOKEN], "hub.challenge": ["abc def"]},
         "abc def"),
        ({"hub.mode": "subscribe", "hub.verify_token": TOKEN, "hub.challenge": " 7\n"}, " 7\n"),
        ({"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"}, None),
        ({"hub.mode": "subscribe", "hub.verify_token": TOKEN + "x", "hub.challenge": "1"}, None),
        ({"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "1"}, None),
        ({"hub.mode": "unsubscribe", "hub.verify_token": TOKEN, "hub.challenge": "1"}, None),
        ({"hub.verify_token": TOKEN, "hub.challenge": "1"}, None),
        ({"hub.mode": "subscribe", "hub.challenge": "1"}, None),
        ({"hub.mode": "subscribe", "hub.verify_token": TOKEN}, None),
        ({"hub.mode": "subscribe", "hub.verify_token": TOKEN, "hub.challenge": ""}, None),
        ({"hub_mode": "subscribe", "hub_verify_token": TOKEN, "hub_challenge": "1"}, None),
        ({"hub.mode": "subscribe", "hub.verify_token": [], "hub.challenge": "1"}, None),
    ],
    ids=["ok", "sanic-lists", "challenge-exact", "wrong-token", "token-prefix", "empty-token",
         "wrong-mode", "no-mode", "no-token", "no-challenge", "empty-challenge", "php-style-keys",
         "empty-list"],
)
def test_verify_token_handshake(params, want):
    assert check_verify_token(params, Secret(TOKEN)) == want
    assert check_verify_token(params, TOKEN) == want


def test_unset_expected_token_never_matches():
    params = {"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "1"}
    assert check_verify_token(params, "") is None
