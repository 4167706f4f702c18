"""MediaDownloader over httpx.MockTransport standing in for Meta: each scenario is a script of
Graph answers and the outcome Rasa's metadata and the sink must show. A failure never raises:
the message goes on with `media_status: unavailable` and a reason code."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import random
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from connectors.whatsapp.graph_client import GraphClient
from connectors.whatsapp.media_checks import META_HANDLE, META_MEDIA_ID, META_REASON, META_STATUS
from connectors.whatsapp.media_download import MediaDownloader

TOKEN = "EAAG-media-token-never-log-me"
MEDIA_ID = "2621233374848975"
DATA = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
SHA_B64 = base64.b64encode(hashlib.sha256(DATA).digest()).decode()
URL = "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=9&ext=1&hash=abc"
SUBJECT = "wa_" + "b" * 43
METADATA = {
    "message_type": "image",
    "media_kind": "image",
    META_MEDIA_ID: MEDIA_ID,
    "mime_type": "image/png",
    "country_code": "44",
}
CAP = 4096


def url_answer(**overrides: Any) -> httpx.Response:
    body = {
        "messaging_product": "whatsapp",
        "url": URL,
        "mime_type": "image/png",
        "sha256": SHA_B64,
        "file_size": str(len(DATA)),
        "id": MEDIA_ID,
        **overrides,
    }
    return httpx.Response(200, json=body)


def graph_error(status: int, code: int) -> httpx.Response:
    return httpx.Response(
        status, json={"error": {"message": f"(#{code}) x", "code": code, "fbtrace_id": "t"}}
    )


BYTES = httpx.Response(200, content=DATA, headers={"Content-Type": "image/png"})


class FakeMeta:
    """Answers media-URL calls and downloads from two scripts; records every request."""

    def __init__(self, urls: list[Any], downloads: list[Any]) -> None:
        self.urls, self.downloads = list(urls), list(downloads)
        self.requests: list[httpx.Request] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        script = self.urls if request.url.path.startswith("/v23.0/") else self.downloads
        answer = script.pop(0) if len(script) > 1 else script[0]
        if callable(answer):
            return await answer()
        return answer


@dataclass
class Stored:
    handle: str
    size_bytes: int


@dataclass
class FakeSink:
    fail_store: bool = False
    stored: list[tuple] = field(default_factory=list)
    failures: list[tuple] = field(default_factory=list)

    def store(self, subject: str, media_id: str, kind: str, mime: str | None, data: bytes):
        if self.fail_store:
            raise RuntimeError("database down")
        self.stored.append((subject, media_id, kind, mime, data))
        return Stored("med_" + "0" * 32, len(data))

    def failed(self, subject: str, media_id: str, kind: str, reason: str) -> None:
        self.failures.append((subject, media_id, kind, reason))


async def _no_sleep(_: float) -> None:
    return None


def graph(meta: FakeMeta) -> GraphClient:
    return GraphClient(
        base_url="https://graph.test",
        api_version="v23.0",
        phone_number_id="106540352242922",
        access_token=TOKEN,
        transport=httpx.MockTransport(meta),
        sleep=_no_sleep,
        rng=random.Random(1),
        max_attempts=3,
    )


async def _slow() -> httpx.Response:
    await asyncio.sleep(5)
    return BYTES


CASES = [
    # label, media-URL answers, download answers, expected status/reason, media-URL calls
    ("stored", [url_answer()], [BYTES], "stored", 1),
    ("hex_digest", [url_answer(sha256=hashlib.sha256(DATA).hexdigest())], [BYTES], "stored", 1),
    ("expired_url_refetched_once", [url_answer()], [httpx.Response(404), BYTES], "stored", 2),
    ("url_404_twice", [url_answer()], [httpx.Response(404)], "not_found", 2),
    ("unknown_media_id", [graph_error(400, 100)], [BYTES], "not_found", 1),
    ("url_5xx_after_retries", [graph_error(503, 131016)], [BYTES], "unavailable", 3),
    ("download_5xx_after_retries", [url_answer()], [httpx.Response(502)], "unavailable", 1),
    ("token_rejected", [graph_error(401, 190)], [BYTES], "auth_failed", 1),
    ("declared_over_cap", [url_answer(file_size=str(CAP + 1))], [BYTES], "too_large", 1),
    (
        "streamed_over_cap",
        [url_answer(file_size=None)],
        [httpx.Response(200, content=b"x" * (CAP + 1))],
        "too_large",
        1,
    ),
    (
        "hash_mismatch",
        [url_answer()],
        [httpx.Response(200, content=DATA[:-1] + b"!")],
        "hash_mismatch",
        1,
    ),
    (
        "html_page_instead_of_file",
        [url_answer()],
        [httpx.Response(200, content=b"<html>Please log in</html>")],
        "hash_mismatch",
        1,
    ),
    ("no_digest", [url_answer(sha256=None)], [BYTES], "bad_response", 1),
    (
        "host_not_metas",
        [url_answer(url="https://evil.test/steal-the-token")],
        [BYTES],
        "host_not_allowed",
        1,
    ),
    (
        "plain_http_meta_host",
        [url_answer(url="http://lookaside.fbsbx.com/a")],
        [BYTES],
        "host_not_allowed",
        1,
    ),
    ("answer_without_url", [url_answer(url=None)], [BYTES], "bad_response", 1),
    ("too_slow", [url_answer()], [_slow], "timeout", 1),
]


@pytest.mark.parametrize(
    "label, urls, downloads, outcome, url_calls", CASES, ids=[c[0] for c in CASES]
)
async def test_download_outcomes(label, urls, downloads, outcome, url_calls, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    meta, sink = FakeMeta(urls, downloads), FakeSink()
    downloader = MediaDownloader(sink, max_bytes=CAP, budget_seconds=0.5)
    async with graph(meta) as client:
        out = await downloader.attach(client, SUBJECT, dict(METADATA))
    assert out[META_STATUS] == ("stored" if outcome == "stored" else "unavailable")
    assert META_MEDIA_ID not in out
    if outcome == "stored":
        assert out[META_HANDLE] == "med_" + "0" * 32 and out["media_size"] == len(DATA)
        assert sink.stored == [(SUBJECT, MEDIA_ID, "image", "image/png", DATA)]
        assert sink.failures == []
    else:
        assert out[META_REASON] == outcome and META_HANDLE not in out
        assert sink.stored == [] and sink.failures == [(SUBJECT, MEDIA_ID, "image", outcome)]
    assert [r.url.path for r in meta.requests].count(f"/v23.0/{MEDIA_ID}") == url_calls
    for request in meta.requests:
        assert request.headers["Authorization"] == f"Bearer {TOKEN}"
        assert request.url.host in ("graph.test", "lookaside.fbsbx.com")  # never evil.test
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for secret in (TOKEN, MEDIA_ID, "lookaside", "evil.test", SUBJECT):
        assert secret not in logged


async def test_a_message_without_media_is_left_alone() -> None:
    meta, sink = FakeMeta([url_answer()], [BYTES]), FakeSink()
    text = {"message_type": "text", "country_code": "39"}
    async with graph(meta) as client:
        assert await MediaDownloader(sink).attach(client, SUBJECT, text) is text
    assert meta.requests == [] and sink.stored == [] and sink.failures == []


async def test_a_storage_failure_still_lets_the_message_through() -> None:
    meta, sink = FakeMeta([url_answer()], [BYTES]), FakeSink(fail_store=True)
    async with graph(meta) as client:
        out = await MediaDownloader(sink, max_bytes=CAP).attach(client, SUBJECT, dict(METADATA))
    assert out[META_STATUS] == "unavailable" and out[META_REASON] == "storage_failed"
    assert sink.failures == [(SUBJECT, MEDIA_ID, "image", "storage_failed")]


async def test_a_failing_audit_does_not_fail_the_turn() -> None:
    class Broken(FakeSink):
        def failed(self, *args: Any) -> None:
            raise RuntimeError("audit down")

    meta = FakeMeta([graph_error(400, 100)], [BYTES])
    async with graph(meta) as client:
        out = await MediaDownloader(Broken()).attach(client, SUBJECT, dict(METADATA))
    assert out[META_REASON] == "not_found"
