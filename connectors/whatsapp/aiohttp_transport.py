"""An httpx transport on aiohttp's client: the wire under the Graph client.

Why: every bot reply makes two Graph calls (mark-as-read, then the send) on the Rasa server's
turn thread, whose interpreter lock bounds the bot's turns per second. A GraphClient.send
against a server that answers at once cost 0.83 ms of CPU on httpx's own engine (httpcore on
anyio) and 0.64 ms on this transport (bench/graph_client_bench.py). Only the bytes on
the wire change: the client's API, its auth, retries and timeouts, and the tests that inject
`httpx.MockTransport`, stay as they are.

What httpx would do above a transport, it still does (auth, redirects: never followed here, and
decoding: aiohttp's own decompression is off so that a body is decoded once). aiohttp's errors
become httpx's transport errors, with no URL in their message (the client logs the class only).
The session, with its connection pool, belongs to the event loop of its first request, like an
`httpx.AsyncClient`: graph_clients.py keeps one client per loop.

Proxies (HTTP_PROXY, HTTPS_PROXY, NO_PROXY, credentials from .netrc) are honoured as aiohttp's
`trust_env` honours them, but looked up once per scheme and host, as httpx reads the environment
once per client: `trust_env` re-read the whole environment and opened ~/.netrc on every request,
a fifth of a call's CPU (cProfile of bench/graph_client_bench.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import httpx
from aiohttp.helpers import get_env_proxy_for_url
from yarl import URL

_CHUNK_BYTES = 64 * 1024
# Headers aiohttp sets itself from the request it sends; passing httpx's copies would double them.
_OWN_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection"})

_Proxy = tuple[URL | None, aiohttp.BasicAuth | None]


class AiohttpTransport(httpx.AsyncBaseTransport):
    def __init__(self, *, max_connections: int = 100) -> None:
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None
        self._proxies: dict[tuple[str, str | None], _Proxy] = {}

    def _session_here(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._max_connections),
                auto_decompress=False,  # httpx decodes Content-Encoding itself
                trust_env=False,  # the environment's proxies are read once: _proxy_for
                skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
            )
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        headers = [
            (name.decode("latin-1"), value.decode("latin-1"))
            for name, value in request.headers.raw
            if name.decode("latin-1").lower() not in _OWN_HEADERS
        ]
        url = URL(str(request.url), encoded=True)  # httpx has encoded it already
        proxy, proxy_auth = self._proxy_for(url)
        try:
            response = await self._session_here().request(
                request.method,
                url,
                headers=headers,
                data=body or None,
                allow_redirects=False,
                timeout=_timeout(request),
                proxy=proxy,
                proxy_auth=proxy_auth,
            )
        except asyncio.TimeoutError:  # connecting or waiting for the answer's head
            raise httpx.TimeoutException("no answer in time", request=request) from None
        except aiohttp.ClientConnectorError:
            raise httpx.ConnectError("could not connect", request=request) from None
        except aiohttp.ClientError as exc:
            raise httpx.NetworkError(type(exc).__name__, request=request) from None
        return httpx.Response(
            response.status,
            headers=list(response.raw_headers),
            stream=_Body(response, request),
            extensions={"http_version": b"HTTP/1.1"},
        )

    def _proxy_for(self, url: URL) -> _Proxy:
        """The environment's proxy for this scheme and host (none, or NO_PROXY), found once."""
        key = (url.scheme, url.host)
        if key not in self._proxies:
            try:
                self._proxies[key] = get_env_proxy_for_url(url)
            except LookupError:  # no proxy for the scheme, or NO_PROXY names the host
                self._proxies[key] = (None, None)
        return self._proxies[key]

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()


class _Body(httpx.AsyncByteStream):
    """The response body, read as httpx asks for it: a media download stays capped in size."""

    def __init__(self, response: aiohttp.ClientResponse, request: httpx.Request) -> None:
        self._response = response
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.content.iter_chunked(_CHUNK_BYTES):
                yield chunk
        except asyncio.TimeoutError:
            raise httpx.ReadTimeout("no answer in time", request=self._request) from None
        except aiohttp.ClientError as exc:
            raise httpx.ReadError(type(exc).__name__, request=self._request) from None

    async def aclose(self) -> None:
        self._response.release()


def _timeout(request: httpx.Request) -> aiohttp.ClientTimeout:
    """httpx's per-request timeouts (connect, read, pool), as aiohttp understands them."""
    limits = request.extensions.get("timeout", {})
    return aiohttp.ClientTimeout(
        total=None,
        connect=limits.get("pool"),
        sock_connect=limits.get("connect"),
        sock_read=limits.get("read"),
    )
