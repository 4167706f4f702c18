"""The Graph clients of one channel: one pacer for all of them, one client per event loop.

Why per loop: an ``httpx.AsyncClient`` (its connection pool) belongs to the event loop that first
used it, and the channel sends from two: the turn thread's loop (every reply) and the server's
loop (Rasa's HTTP API, through ``get_output_channel``, called on every such request). A client
per call would leak a pool per request and, worse, a pacer per request that knows nothing of the
turns' sends. So each loop gets one client, created on first use and closed at shutdown on its
own loop, and every client books on the channel's single pacer (and, with Redis, on the pacer
every server shares), so the business number's rate holds however the messages leave.
With the webhook front running, every message leaves from there instead, through its own
client and pacer (front_sending.py); the server's clients then fetch and upload media, and send
only while the front restarts (a few seconds in which the two pacers do not know of each other,
unless both book on Redis).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

import httpx

from connectors.whatsapp.config import WhatsAppConfig, WhatsAppConfigError
from connectors.whatsapp.graph_client import GraphClient
from connectors.whatsapp.pacing import Pacer, SendPacer

__all__ = ["GraphClients", "graph_client_for", "pacer_for"]


def graph_client_for(
    config: WhatsAppConfig, pacer: SendPacer, transport: httpx.AsyncBaseTransport | None = None
) -> GraphClient:
    """A Graph client for the channel's business number, booking on `pacer`."""
    return GraphClient(
        base_url=config.api_base_url,
        api_version=config.api_version,
        phone_number_id=config.phone_number_id,
        access_token=config.access_token,
        timeout=config.request_timeout_seconds,
        pacer=pacer,
        transport=transport,
    )


def pacer_for(config: WhatsAppConfig, recipient_key: Callable[[str], str]) -> SendPacer:
    """The channel's pacer: shared through Redis when ``pacing_redis_url`` is set, else in this
    process. ``recipient_key`` turns a pseudonym into the keyed hash Redis may hold.

    Called when the channel is built, at start-up: a Redis pacer pings Redis here (at most
    ``pacing_redis.STARTUP_PROBE_SECONDS``), so that a Redis that does not answer is logged
    now rather than at the first send. It does not stop the start: pacing falls back to local
    (pacing_redis.py); a malformed URL has already failed in ``WhatsAppConfig``. Credentials
    that Redis refuses do stop it, naming the setting (WhatsAppConfigError)."""
    if config.pacing_redis_url is None:
        return Pacer(rate_per_second=config.messages_per_second)
    # redis only when configured
    from connectors.whatsapp.pacing_redis import RedisCredentialsRefused, RedisPacer

    pacer = RedisPacer(
        config.pacing_redis_url.reveal(),
        rate_per_second=config.messages_per_second,
        recipient_key=recipient_key,
    )
    try:
        pacer.check()
    except RedisCredentialsRefused as exc:
        raise WhatsAppConfigError(
            "pacing_redis_url",
            f"Redis refused the URL's user or password ({exc}): set the ones Redis expects",
        ) from None
    return pacer


class GraphClients:
    """``for_this_loop()`` from any coroutine; ``close_this_loop()`` at shutdown, on each loop."""

    def __init__(self, factory: Callable[[], GraphClient], pacer: SendPacer) -> None:
        """``factory`` builds a client on ``pacer``; ``pacer``'s per-loop resources (Redis
        connections) are released with the loop's client."""
        self._factory = factory
        self.pacer = pacer
        self._lock = threading.Lock()  # the two loops run on two threads
        self._clients: dict[asyncio.AbstractEventLoop | None, GraphClient] = {}

    def for_this_loop(self) -> GraphClient:
        """The running loop's client, created on first use. Outside any loop (a synchronous
        caller) one more client is kept, under no loop, until ``close_this_loop``."""
        loop = _running_loop()
        with self._lock:
            client = self._clients.get(loop)
            if client is None:
                client = self._clients[loop] = self._factory()
            return client

    async def close_this_loop(self) -> None:
        """Close the running loop's client, the pacer's connections on this loop and a client
        made outside any loop, if any."""
        loop = _running_loop()
        with self._lock:
            closing = [self._clients.pop(key) for key in (loop, None) if key in self._clients]
        for client in closing:
            await client.aclose()
        await self.pacer.aclose()

    def __len__(self) -> int:
        return len(self._clients)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
