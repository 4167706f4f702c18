"""The Graph API edge: send messages, mark them read, fetch media — paced, retried, typed.

One shared ``httpx.AsyncClient`` per ``GraphClient`` (a connection pool, keep-alive, bounded
timeouts), on aiohttp's wire (aiohttp_transport.py); create one per business number and event
loop (graph_clients.py) and ``aclose()`` it at shutdown.

Every call goes through ``_call``: pace (a ``pacing.SendPacer``), try, map a failure to a typed
``graph_errors`` error, ask ``retry_policy.next_delay`` whether and when to try again. Network
errors (``httpx.TransportError``, timeouts included), 5xx and throttling codes are retried;
permanent errors are raised at once. A retried ``POST /messages`` may, rarely, deliver twice
(Meta accepted it but the answer was lost): the Cloud API has no idempotency key, and losing a
reply is worse for a conversation than a duplicate.

Privacy (house rule 8): logs carry only the operation, message ids, error class and code,
fbtrace_id and attempt numbers — never a recipient, a text, a body or the token. The token sits
in an ``httpx.Auth`` whose repr is masked, and it is sent only to the Graph host and Meta's media
hosts (``download_media`` refuses other hosts rather than hand the token to them).
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import logging
import random
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Generator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx

from connectors.whatsapp import limits
from connectors.whatsapp.aiohttp_transport import AiohttpTransport
from connectors.whatsapp.graph_errors import (
    GraphError,
    GraphNetworkError,
    PairRateLimited,
    Permanent,
    error_from_graph,
)
from connectors.whatsapp.outbound_rendering import mark_read_body
from connectors.whatsapp.pacing import Pacer, SendPacer
from connectors.whatsapp.retry_policy import (
    DEFAULT_BASE,
    DEFAULT_CAP,
    DEFAULT_MAX_ATTEMPTS,
    next_delay,
    parse_retry_after,
)

__all__ = ["USER_AGENT", "GraphClient", "MediaInfo", "SendResult"]

logger = logging.getLogger(__name__)
T = TypeVar("T")

# httpx logs every request's full URL at INFO ("HTTP Request: GET https://lookaside...&hash=..."):
# the phone number id in every Graph path, Meta's media download URL with its hash, a media id.
# Those must stay out of the logs like the bytes and the token, whatever level the app logs at,
# so httpx's own logger is held at WARNING here, where every Graph request is made.
logging.getLogger("httpx").setLevel(max(logging.getLogger("httpx").level, logging.WARNING))

# A missing or odd User-Agent has been reported to get an HTML page instead of the media file
# (shared whatsapp-cloud-api.md §9), so we always send one.
USER_AGENT = "sigillo-whatsapp/0.1"
_MEDIA_HOST_SUFFIXES = (".fbsbx.com", ".facebook.com", ".fbcdn.net", ".whatsapp.net")
_API_VERSION = re.compile(r"v\d{1,3}\.\d{1,2}")
_GRAPH_ID = re.compile(r"[0-9A-Za-z_]{1,128}")  # no "." or "/": ids are path segments


@dataclass(frozen=True, repr=False)
class SendResult:
    """Meta accepted the message (not delivered: that comes as a status webhook)."""

    message_id: str
    wa_id: str | None = None  # canonical number; may differ from what we sent (BR/MX)
    user_id: str | None = None  # BSUID, when Meta returns one
    message_status: str | None = None  # "accepted" / "held_for_quality_assessment" (templates)

    def __repr__(self) -> str:
        return f"SendResult(message_id={self.message_id!r}, message_status={self.message_status!r})"


@dataclass(frozen=True, repr=False)
class MediaInfo:
    """Where to download a media object; the URL expires after about 5 minutes."""

    url: str
    mime_type: str | None
    sha256: str | None
    file_size: int | None

    def __repr__(self) -> str:
        return f"MediaInfo(mime_type={self.mime_type!r}, file_size={self.file_size!r})"


class _Failed(Exception):
    """One attempt failed with ``error``; carries the server's Retry-After, if any."""

    def __init__(self, error: GraphError, retry_after: float | None = None) -> None:
        super().__init__(error)
        self.error = error
        self.retry_after = retry_after


class _BearerAuth(httpx.Auth):
    def __init__(self, token: str) -> None:
        self._token = token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._token}"
        yield request

    def __repr__(self) -> str:
        return "_BearerAuth(token=***)"


class GraphClient:
    """Async client for one business phone number of the WhatsApp Cloud API."""

    def __init__(
        self,
        *,
        base_url: str,
        api_version: str,
        phone_number_id: str,
        access_token: object,
        timeout: float = 10.0,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        pacer: SendPacer | None = None,
        rng: random.Random | None = None,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        transport: httpx.AsyncBaseTransport | None = None,
        max_connections: int = 100,
        backoff_base: float = DEFAULT_BASE,
        backoff_cap: float = DEFAULT_CAP,
    ) -> None:
        """``access_token`` is a str or a Secret-like object (``reveal()``,
        ``get_secret_value()`` or starlette's ``str(secret)``); never logged nor in a repr.
        ``pacer`` may be shared by several clients (one per event loop, see channel.py) and,
        with ``pacing_redis.RedisPacer``, by several servers; the client never closes it.
        ``transport`` is for tests (``httpx.MockTransport``); by default aiohttp's client."""
        base = urlsplit(base_url)
        if base.scheme not in ("http", "https") or not base.netloc:
            raise ValueError("base_url: must be an http(s) URL such as https://graph.facebook.com")
        if not _API_VERSION.fullmatch(api_version):
            raise ValueError("api_version: must look like 'v23.0'")
        if not _GRAPH_ID.fullmatch(phone_number_id):
            raise ValueError("phone_number_id: must be the numeric id from the App Dashboard")
        if not timeout > 0 or max_attempts < 1:
            raise ValueError("timeout must be > 0 and max_attempts >= 1")
        token = _reveal(access_token)
        if not token:
            raise ValueError("access_token: must not be empty")
        self._root = f"{base_url.rstrip('/')}/{api_version}"
        self._graph_host = base.hostname or ""
        self._phone_number_id = phone_number_id
        # Parsed once: httpx parses a str URL again on every request (70 us of a 0.5 ms send).
        self._messages_url = httpx.URL(f"{self._root}/{phone_number_id}/messages")
        self._max_attempts = max_attempts
        self._pacer = pacer or Pacer()
        self._rng = rng or random.Random()
        self._sleep = sleep
        self._clock = clock
        self._backoff = (backoff_base, backoff_cap)
        self._key_salt = secrets.token_bytes(16)
        self._http = httpx.AsyncClient(
            auth=_BearerAuth(token),
            headers={"User-Agent": USER_AGENT},
            timeout=httpx.Timeout(timeout),
            # The wire is aiohttp's (aiohttp_transport.py: a fifth less CPU per call).
            transport=transport or AiohttpTransport(max_connections=max_connections),
        )

    def __repr__(self) -> str:
        return f"GraphClient(root={self._root!r})"

    async def __aenter__(self) -> GraphClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def send(self, body: Mapping[str, Any], *, pacing_key: str | None = None) -> SendResult:
        """POST one rendered body. ``pacing_key`` identifies the recipient for pair-rate
        backoff (pass the pseudonym; by default a salted hash of the body's address)."""
        key = pacing_key if pacing_key is not None else self._address_key(body)

        async def attempt() -> SendResult:
            response = await self._http.post(self._messages_url, json=dict(body))
            return _send_result(_json_or_fail(response))

        result = await self._call("send", attempt, paced=True, pacing_key=key)
        # A wamid embeds the recipient's phone number: log the fact, never the id.
        logger.info("graph send accepted")
        return result

    async def mark_read(self, message_id: str, typing: bool = False) -> None:
        """Mark ``message_id`` (and every earlier message in the chat) read."""
        body = mark_read_body(message_id, typing)

        async def attempt() -> None:
            _json_or_fail(await self._http.post(self._messages_url, json=body))

        await self._call("mark_read", attempt, paced=True, pacing_key=None)
        logger.debug("graph mark_read done")

    async def upload_media(self, data: bytes, mime_type: str, filename: str) -> str:
        """Upload a file (e.g. a data-subject export) for sending as a document; its media id."""
        url = f"{self._root}/{self._phone_number_id}/media"
        form = {"messaging_product": "whatsapp", "type": mime_type}

        async def attempt() -> str:
            files = {"file": (filename, data, mime_type)}
            payload = _json_or_fail(await self._http.post(url, data=form, files=files))
            media_id = _str_or_none(payload.get("id"))
            if media_id is None:
                raise Permanent(None, "upload answer without an id")
            return media_id

        return await self._call("upload_media", attempt, paced=False, pacing_key=None)

    async def media_url(self, media_id: str) -> MediaInfo:
        """Resolve a media id (from a webhook) to a short-lived download URL."""
        if not _GRAPH_ID.fullmatch(media_id):
            raise ValueError("media_id: must be a Graph object id")
        url = f"{self._root}/{media_id}"
        params = {"phone_number_id": self._phone_number_id}

        async def attempt() -> MediaInfo:
            return _media_info(_json_or_fail(await self._http.get(url, params=params)))

        return await self._call("media_url", attempt, paced=False, pacing_key=None)

    async def download_media(
        self, url: str, max_bytes: int = limits.MEDIA_DOWNLOAD_MAX_BYTES
    ) -> bytes:
        """Download media bytes (bearer token + User-Agent). A 404 means the URL expired:
        call ``media_url`` again. Refuses hosts other than Meta's and the configured Graph host."""
        parts = urlsplit(url)
        host = parts.hostname or ""
        meta_host = parts.scheme == "https" and host.endswith(_MEDIA_HOST_SUFFIXES)
        if not (meta_host or host == self._graph_host):
            raise ValueError("download_media: URL host is not a Meta media host")

        async def attempt() -> bytes:
            async with self._http.stream("GET", url) as response:
                if not response.is_success:
                    await response.aread()
                    raise _failure(response)
                chunks, size = [], 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > max_bytes:
                        raise Permanent(None, "media larger than max_bytes")
                    chunks.append(chunk)
                return b"".join(chunks)

        return await self._call("download_media", attempt, paced=False, pacing_key=None)

    async def _call(
        self, what: str, attempt: Callable[[], Awaitable[T]], *, paced: bool, pacing_key: str | None
    ) -> T:
        for number in itertools.count(1):
            if paced:
                wait = await self._pacer.reserve(self._clock(), pacing_key, self._phone_number_id)
                if wait > 0:
                    await self._sleep(wait)
            try:
                return await attempt()
            except httpx.TransportError as exc:  # message may hold the URL: keep the class only
                error, retry_after = GraphNetworkError(None, type(exc).__name__), None
            except _Failed as failed:
                error, retry_after = failed.error, failed.retry_after
            if isinstance(error, PairRateLimited) and pacing_key is not None:
                penalty = limits.PAIR_RATE_BACKOFF_BASE ** (number - 1)
                await self._pacer.pair_rate_limited(
                    self._clock(), pacing_key, penalty, self._phone_number_id
                )
            base, cap = self._backoff
            delay = next_delay(number, error, retry_after, self._rng, base, cap, self._max_attempts)
            logger.log(
                logging.WARNING if delay is None else logging.INFO,
                "graph %s failed error=%s code=%s subcode=%s fbtrace_id=%s"
                " attempt=%d/%d retry_in=%s",
                what,
                type(error).__name__,
                error.code,
                error.subcode,
                error.fbtrace_id,
                number,
                self._max_attempts,
                "none" if delay is None else f"{delay:.2f}s",
            )
            if delay is None:
                raise error
            await self._sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _address_key(self, body: Mapping[str, Any]) -> str | None:
        address = body.get("to") or body.get("recipient")
        if not isinstance(address, str):
            return None
        digest = hashlib.blake2b(address.encode(), digest_size=16, key=self._key_salt)
        return digest.hexdigest()


def _reveal(token: object) -> str:
    """The token's value: a str, ``connectors.whatsapp.secrets.Secret.reveal()``, pydantic's
    ``get_secret_value()`` or, last, starlette's ``str(secret)``."""
    if isinstance(token, str):
        return token
    for name in ("reveal", "get_secret_value"):
        getter = getattr(token, name, None)
        if callable(getter):
            return getter()
    return str(token)


def _failure(response: httpx.Response) -> _Failed:
    try:
        body = response.json()
    except ValueError:
        body = None
    error = error_from_graph(body if isinstance(body, Mapping) else None, response.status_code)
    retry_after = parse_retry_after(response.headers.get("retry-after"), time.time())
    return _Failed(error, retry_after)


def _json_or_fail(response: httpx.Response) -> Mapping[str, Any]:
    if not response.is_success:
        raise _failure(response)
    try:
        payload = response.json()
    except ValueError:
        payload = None
    if not isinstance(payload, Mapping):
        # A 2xx we cannot read: the call may have taken effect, so never retry it.
        raise Permanent(None, "unreadable success response", http_status=response.status_code)
    return payload


def _send_result(payload: Mapping[str, Any]) -> SendResult:
    messages = payload.get("messages")
    first = messages[0] if isinstance(messages, list) and messages else None
    message_id = first.get("id") if isinstance(first, Mapping) else None
    if not isinstance(message_id, str) or not message_id:
        raise Permanent(None, "send response without a message id")
    contacts = payload.get("contacts")
    contact = contacts[0] if isinstance(contacts, list) and contacts else {}
    contact = contact if isinstance(contact, Mapping) else {}
    return SendResult(
        message_id=message_id,
        wa_id=_str_or_none(contact.get("wa_id")),
        user_id=_str_or_none(contact.get("user_id")),
        message_status=_str_or_none(first.get("message_status")),
    )


def _media_info(payload: Mapping[str, Any]) -> MediaInfo:
    url = payload.get("url")
    if not isinstance(url, str) or not url:
        raise Permanent(None, "media response without a url")
    size = payload.get("file_size")
    try:
        file_size = int(size) if size is not None and not isinstance(size, bool) else None
    except (TypeError, ValueError):
        file_size = None
    return MediaInfo(
        url=url,
        mime_type=_str_or_none(payload.get("mime_type")),
        sha256=_str_or_none(payload.get("sha256")),
        file_size=file_size,
    )


def _str_or_none(value: object) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None
