"""No Graph call leaves a URL in the logs, whatever level the application logs at: httpx logs
each request's full URL at INFO (the phone number id in every path, the media download URL with
its hash), so graph_client holds httpx's logger at WARNING. Real sockets against a local stand-in
for Meta, so the connection layer under httpx (aiohttp, aiohttp_transport.py) logs what it would
in production."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from connectors.whatsapp.graph_client import GraphClient
from connectors.whatsapp.outbound_rendering import Recipient, render_response

PHONE_NUMBER_ID = "106540352242922"
TOKEN = "EAAG-test-token-never-log-me"
PHONE = "16505551234"
MEDIA_ID = "1037543291543636"
MEDIA_HASH = "AQN3-media-hash-never-log-me"
WAMID = "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBI1QUZGRjQ2MjM2MTJEMkFFMEUA"


class FakeMeta(BaseHTTPRequestHandler):
    """Sends, the media-URL lookup and the download, each answered as Meta would."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self._json({"messages": [{"id": WAMID}], "contacts": [{"wa_id": PHONE}]})

    def do_GET(self) -> None:
        if self.path.startswith(f"/v23.0/{MEDIA_ID}"):
            port = self.server.server_address[1]
            url = f"http://127.0.0.1:{port}/whatsapp_business/attachments/?mid={MEDIA_ID}"
            self._json({"url": f"{url}&hash={MEDIA_HASH}", "mime_type": "image/png"})
        else:
            self._send(b"\x89PNG-bytes", "image/png")

    def _json(self, body: dict) -> None:
        self._send(json.dumps(body).encode(), "application/json")

    def _send(self, body: bytes, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:  # the stand-in's own log is not the test's
        pass


@pytest.fixture
def meta() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeMeta)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("level", [logging.INFO, logging.DEBUG], ids=["info", "debug"])
async def test_graph_calls_log_no_url_id_token_or_hash(meta: str, level: int, caplog) -> None:
    caplog.set_level(level)  # the root logger, as `rasa run` (or `--debug`) sets it
    body = render_response(Recipient(phone=PHONE), {"text": "hello"}).bodies[0]
    async with GraphClient(
        base_url=meta, api_version="v23.0", phone_number_id=PHONE_NUMBER_ID, access_token=TOKEN
    ) as graph:
        await graph.send(body)
        await graph.mark_read(WAMID)
        info = await graph.media_url(MEDIA_ID)
        assert await graph.download_media(info.url) == b"\x89PNG-bytes"
    logged = caplog.text
    assert caplog.records  # the client did log (so the check below is not vacuous)
    for secret in (PHONE_NUMBER_ID, TOKEN, MEDIA_ID, MEDIA_HASH, PHONE, WAMID, "/v23.0/"):
        assert secret not in logged, secret
    assert "HTTP Request" not in logged


def test_importing_the_graph_client_alone_quiets_httpx() -> None:
    """Every Graph request, media or not: the setting lives with the client, not with media."""
    code = (
        "import logging, connectors.whatsapp.graph_client; "
        "print(logging.getLogger('httpx').getEffectiveLevel())"
    )
    repo = Path(__file__).resolve().parents[3]
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(repo)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env, cwd=repo
    ).stdout
    assert int(out) == logging.WARNING
