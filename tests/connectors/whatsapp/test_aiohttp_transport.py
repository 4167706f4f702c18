"""The Graph client's wire: httpx above, aiohttp below, a real local server. Requests arrive
as httpx built them (auth once, no doubled headers, JSON and multipart bodies), answers come
back as sent (status, headers, a body decoded once, never a followed redirect), big bodies
stream, connections are reused, and failures are httpx's transport errors without a URL."""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from aiohttp import web

from connectors.whatsapp.aiohttp_transport import AiohttpTransport
from devstack.processes import free_port

Scenario = Callable[[httpx.AsyncClient, str, list[web.Request]], Awaitable[Any]]


async def echo(request: web.Request) -> web.Response:
    body = await request.read()
    return web.json_response(
        {
            "method": request.method,
            "headers": [[k, v] for k, v in request.headers.items()],
            "body": body.decode("latin-1"),
        }
    )


async def redirect(request: web.Request) -> web.Response:
    raise web.HTTPFound("/elsewhere")


async def gzipped(request: web.Request) -> web.Response:
    return web.Response(
        body=gzip.compress(b'{"success": true}'),
        headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
    )


async def big(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse()
    await response.prepare(request)
    for _ in range(64):
        await response.write(b"x" * 65536)
    await response.write_eof()
    return response


async def slow(request: web.Request) -> web.Response:
    await asyncio.sleep(2)
    return web.json_response({})


def run(scenario: Scenario, timeout: float = 5.0) -> Any:
    async def main() -> Any:
        seen: list[web.Request] = []

        @web.middleware
        async def remember(request: web.Request, handler):  # type: ignore[no-untyped-def]
            seen.append(request)
            return await handler(request)

        app = web.Application(middlewares=[remember])
        app.router.add_route("*", "/echo", echo)
        app.router.add_get("/redirect", redirect)
        app.router.add_get("/gzip", gzipped)
        app.router.add_get("/big", big)
        app.router.add_get("/slow", slow)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        client = httpx.AsyncClient(
            transport=AiohttpTransport(),
            headers={"User-Agent": "sigillo-test"},
            auth=("user", "secret"),
            timeout=httpx.Timeout(timeout),
        )
        try:
            return await scenario(client, f"http://127.0.0.1:{port}", seen)
        finally:
            await client.aclose()
            await runner.cleanup()

    return asyncio.run(main())


def test_a_json_post_arrives_as_httpx_built_it() -> None:
    async def scenario(client, base, seen):  # type: ignore[no-untyped-def]
        return (await client.post(base + "/echo", json={"to": "x", "n": 1})).json()

    echoed = run(scenario)
    names = [name.lower() for name, _ in echoed["headers"]]
    headers = {name.lower(): value for name, value in echoed["headers"]}
    assert echoed["method"] == "POST" and json.loads(echoed["body"]) == {"to": "x", "n": 1}
    assert headers["content-type"] == "application/json"
    assert headers["user-agent"] == "sigillo-test"
    assert headers["authorization"].startswith("Basic ")
    for once in ("host", "content-length", "authorization", "user-agent", "accept-encoding"):
        assert names.count(once) == 1, once


def test_a_multipart_upload_arrives_whole() -> None:
    async def scenario(client, base, seen):  # type: ignore[no-untyped-def]
        files = {"file": ("export.json", b'{"a": 1}', "application/json")}
        return (await client.post(base + "/echo", data={"type": "x"}, files=files)).json()

    echoed = run(scenario)
    headers = {name.lower(): value for name, value in echoed["headers"]}
    assert headers["content-type"].startswith("multipart/form-data; boundary=")
    assert 'filename="export.json"' in echoed["body"] and '{"a": 1}' in echoed["body"]


def test_a_redirect_comes_back_unfollowed_and_gzip_is_decoded_once() -> None:
    async def scenario(client, base, seen):  # type: ignore[no-untyped-def]
        moved = await client.get(base + "/redirect")
        packed = await client.get(base + "/gzip")
        return moved, packed, [r.path for r in seen]

    moved, packed, paths = run(scenario)
    assert moved.status_code == 302 and moved.headers["location"] == "/elsewhere"
    assert paths == ["/redirect", "/gzip"]  # nothing went to /elsewhere
    assert packed.json() == {"success": True}


def test_a_big_body_streams_and_connections_are_reused() -> None:
    async def scenario(client, base, seen):  # type: ignore[no-untyped-def]
        sizes = []
        async with client.stream("GET", base + "/big") as response:
            async for chunk in response.aiter_bytes():
                sizes.append(len(chunk))
        for _ in range(3):
            await client.post(base + "/echo", json={})
        peers = {r.transport.get_extra_info("peername")[1] for r in seen[1:]}  # type: ignore[union-attr]
        return sizes, peers

    sizes, peers = run(scenario)
    assert sum(sizes) == 64 * 65536 and len(sizes) > 1  # arrived in pieces
    assert len(peers) == 1  # one keep-alive connection served the three posts


@pytest.mark.parametrize(
    ("path", "error"),
    [("closed-port", httpx.ConnectError), ("/slow", httpx.TimeoutException)],
)
def test_failures_are_httpx_transport_errors_without_the_url(path: str, error: type) -> None:
    async def scenario(client, base, seen):  # type: ignore[no-untyped-def]
        url = f"http://127.0.0.1:{free_port()}/x" if path == "closed-port" else base + path
        try:
            await client.get(url)
        except httpx.TransportError as exc:
            return exc, url
        raise AssertionError("no error")

    exc, url = run(scenario, timeout=0.5)
    assert isinstance(exc, error)
    assert "127.0.0.1" not in str(exc) and url not in str(exc)


def test_the_environments_proxy_carries_requests_and_no_proxy_is_honoured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """HTTP_PROXY sends a request through the proxy (here the test server, which sees the
    absolute URL of a host that does not exist); NO_PROXY names hosts that go direct."""

    async def scenario(client, base, seen):  # type: ignore[no-untyped-def]
        monkeypatch.setenv("HTTP_PROXY", base)
        monkeypatch.setenv("NO_PROXY", "localhost")
        via_proxy = await client.post("http://graph.example.invalid/echo", json={"n": 1})
        # A fresh transport reads the environment again: 127.0.0.1 is now exempt, and the
        # proxy a dead port that would fail any request sent through it.
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{free_port()}")
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        async with httpx.AsyncClient(transport=AiohttpTransport()) as direct_client:
            direct = await direct_client.post(base + "/echo", json={"n": 2})
        return via_proxy, direct, [(r.host, r.path) for r in seen]

    via_proxy, direct, asked = run(scenario)
    assert via_proxy.json()["method"] == "POST" and direct.status_code == 200
    assert asked[0] == ("graph.example.invalid", "/echo")  # the proxy was asked for it
    assert asked[1][0].startswith("127.0.0.1:") and asked[1][1] == "/echo"


def test_the_environment_is_read_once_per_host(monkeypatch: pytest.MonkeyPatch) -> None:
    """As httpx reads it once per client: a proxy set later does not reroute a transport that
    already sent to that host (and every request no longer re-reads os.environ and ~/.netrc)."""

    async def scenario(client, base, seen):  # type: ignore[no-untyped-def]
        monkeypatch.delenv("HTTP_PROXY", raising=False)
        monkeypatch.delenv("http_proxy", raising=False)
        first = await client.post(base + "/echo", json={})
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{free_port()}")  # a dead port
        monkeypatch.setenv("NO_PROXY", "")
        second = await client.post(base + "/echo", json={})
        return first.status_code, second.status_code

    assert run(scenario) == (200, 200)
