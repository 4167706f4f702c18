"""The simulator serves inbound media as Meta does (whatsapp-cloud-api.md §9): a user sends an
image with given bytes; GET /{version}/{media-id} with the bearer token answers the URL JSON;
the URL gives the exact bytes only with the token and only for 5 minutes; the channel's Graph
client and MediaDownloader accept the simulator's host and store what the user sent."""

from __future__ import annotations

import base64
import hashlib

import pytest

from connectors.whatsapp.graph_client import GraphClient
from connectors.whatsapp.media_download import MediaDownloader
from connectors.whatsapp.simulator.testing import AUTH, PNID, TOKEN, running

USER = "447700900777"
DATA = b"\x89PNG\r\n\x1a\n" + b"exact bytes the user sent" * 40
B64 = base64.b64encode(DATA).decode()


async def _send_image(base: str, session, **extra) -> dict:
    spec = {"type": "image", "mime_type": "image/png", "data_base64": B64, **extra}
    async with session.post(f"{base}/_sim/users/{USER}/send", json=spec) as r:
        assert r.status == 200, await r.text()
        return await r.json()


async def test_an_image_with_given_bytes_is_served_faithfully() -> None:
    async with running() as (base, bot, session):
        await _send_image(base, session, caption="the receipt")
        image = bot.bodies()[0]["entry"][0]["changes"][0]["value"]["messages"][0]["image"]
        assert image["sha256"] == base64.b64encode(hashlib.sha256(DATA).digest()).decode()
        assert image["mime_type"] == "image/png" and image["caption"] == "the receipt"
        async with session.get(f"{base}/v23.0/{image['id']}") as r:
            assert r.status == 401  # the media URL JSON needs the token too
        async with session.get(
            f"{base}/v23.0/{image['id']}", params={"phone_number_id": PNID}, headers=AUTH
        ) as r:
            info = await r.json()
        assert set(info) == {"messaging_product", "url", "mime_type", "sha256", "file_size", "id"}
        assert info["id"] == image["id"] and info["messaging_product"] == "whatsapp"
        assert info["file_size"] == str(len(DATA)) and info["sha256"] == image["sha256"]
        assert info["url"].startswith(f"{base}/media/{image['id']}?")
        async with session.get(info["url"]) as r:
            assert r.status == 401
        async with session.get(info["url"], headers={"Authorization": "Bearer wrong"}) as r:
            assert r.status == 401
        async with session.get(info["url"], headers=AUTH) as r:
            assert r.status == 200 and r.content_type == "image/png"
            assert await r.read() == DATA


async def test_download_urls_expire_and_a_fresh_one_works() -> None:
    async with running() as (base, bot, session):
        await _send_image(base, session)
        media_id = bot.bodies()[0]["entry"][0]["changes"][0]["value"]["messages"][0]["image"]["id"]
        async with session.post(f"{base}/_sim/config", json={"media_url_ttl": 0}) as r:
            assert (await r.json())["media_url_ttl"] == 0
        async with session.get(f"{base}/v23.0/{media_id}", headers=AUTH) as r:
            expired = (await r.json())["url"]
        async with session.get(expired, headers=AUTH) as r:
            assert r.status == 404
        async with session.get(f"{base}/media/{media_id}", headers=AUTH) as r:
            assert r.status == 404  # a URL never issued
        await session.post(f"{base}/_sim/config", json={"media_url_ttl": 300})
        async with session.get(f"{base}/v23.0/{media_id}", headers=AUTH) as r:
            fresh = (await r.json())["url"]
        async with session.get(fresh, headers=AUTH) as r:
            assert r.status == 200 and await r.read() == DATA
        async with session.get(f"{base}/v23.0/1234567890", headers=AUTH) as r:
            assert r.status == 400 and (await r.json())["error"]["code"] == 100


class Sink:
    def __init__(self) -> None:
        self.stored: list[bytes] = []
        self.failures: list[str] = []

    def store(self, subject, media_id, kind, mime_type, data):  # type: ignore[no-untyped-def]
        self.stored.append(data)

        class Stored:
            handle, size_bytes = "med_" + "1" * 32, len(data)

        return Stored()

    def failed(self, subject, media_id, kind, reason):  # type: ignore[no-untyped-def]
        self.failures.append(reason)


@pytest.mark.parametrize(
    "ttl, outcome", [(300, "stored"), (0, "not_found")], ids=["fresh_url", "urls_always_expired"]
)
async def test_the_channels_downloader_against_the_simulator(ttl: float, outcome: str) -> None:
    async with running() as (base, bot, session):
        await _send_image(base, session)
        await session.post(f"{base}/_sim/config", json={"media_url_ttl": ttl})
        media_id = bot.bodies()[0]["entry"][0]["changes"][0]["value"]["messages"][0]["image"]["id"]
        sink = Sink()
        graph = GraphClient(
            base_url=base, api_version="v23.0", phone_number_id=PNID, access_token=TOKEN
        )
        async with graph:
            out = await MediaDownloader(sink).attach(
                graph, "wa_" + "c" * 43, {"media_kind": "image", "media_id": media_id}
            )
        if outcome == "stored":
            assert out["media_status"] == "stored"
            assert sink.stored == [DATA] and out["media_handle"] == "med_" + "1" * 32
        else:  # the URL 404s, a fresh one 404s too: unavailable, and the turn goes on
            assert (
                out["media_status"] == "unavailable" and out["media_unavailable_reason"] == outcome
            )
            assert sink.stored == [] and sink.failures == [outcome]
        async with session.get(f"{base}/_sim/stats") as r:
            assert (await r.json())["media_downloads"] == (1 if outcome == "stored" else 0)
