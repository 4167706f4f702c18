"""The simulator server: Meta's Graph API on one side, webhook delivery to the bot on the other.

Wires the pure parts (rules, webhooks, faults, state) to aiohttp. Routes are in graph_api.py
(what the bot calls, as on graph.facebook.com) and control_api.py (`/_sim/...`, what tests and
the chat tool call). Source of the behaviour: whatsapp-cloud-api.md §5 (statuses sent →
delivered → read after a 200 accept, failed with errors[]), §8 (delivery), §10 (window).
Keeps user texts in memory only and logs counts and codes, never numbers or texts.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import secrets
import time
import uuid
from collections.abc import Callable

from aiohttp import web

from connectors.event_loop import use_fast_event_loop
from connectors.whatsapp.simulator import webhooks as wh
from connectors.whatsapp.simulator.config import SimConfig
from connectors.whatsapp.simulator.delivery import WebhookSender
from connectors.whatsapp.simulator.errors import ValidationError
from connectors.whatsapp.simulator.faults import FaultSchedule
from connectors.whatsapp.simulator.state import (
    Conversation,
    Conversations,
    SendPolicy,
    SentMessage,
    Stats,
)

logger = logging.getLogger(__name__)
# §9: download URLs expire after 5 minutes; a download after that gets a 404.
MEDIA_URL_TTL_SECONDS = 300.0
SIM_KEY = web.AppKey("sim", object)


class Simulator:
    """All mutable simulator state plus the status pipeline; one per server."""

    def __init__(self, config: SimConfig, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.clock = clock
        self.callback_url = config.callback_url
        self.business = wh.Business(config.waba_id, config.phone_number_id,
                                    config.display_phone_number)
        self.status_delay = config.status_delay
        self.read_receipts = config.read_receipts
        self.ensure_ascii = config.ensure_ascii
        self.media_url_ttl = MEDIA_URL_TTL_SECONDS
        self._changed: asyncio.Condition | None = None
        self.sender = WebhookSender(lambda: self.callback_url, config.app_secret,
                                    config.webhook_timeout, FaultSchedule(), Stats())
        self.reset()

    def reset(self) -> None:
        """Forget conversations, media, faults and counters; keep the configuration."""
        self.conversations = Conversations()
        self.policy = SendPolicy(
            enforce_window=self.config.enforce_window,
            fail_unknown_recipients=self.config.fail_unknown_recipients,
            pair_rate_limit=self.config.pair_rate_limit,
            messages_per_second=self.config.messages_per_second,
        )
        self.faults = FaultSchedule()
        self.stats = Stats()
        self.media: dict[str, tuple[bytes, str]] = {}
        self.media_urls: dict[str, tuple[str, float]] = {}  # URL hash -> (media id, expiry)
        self.inbound_owner: dict[str, Conversation] = {}
        self.sender.cancel_pending()
        self.sender.faults = self.faults
        self.sender.stats = self.stats

    # ---- ids and time ----------------------------------------------------------------------

    def now(self) -> float:
        return self.clock()

    @staticmethod
    def new_wamid() -> str:
        raw = b"\x15\x02\x00\x12\x18\x14" + uuid.uuid4().hex.upper().encode()
        return "wamid." + base64.b64encode(raw).decode()

    @staticmethod
    def new_media_id() -> str:
        return str(10**15 + secrets.randbelow(9 * 10**15))

    def issue_media_url(self, base: str, media_id: str) -> str:
        """A short-lived download URL, lookaside-shaped (§9: `?mid=…&ext=…&hash=…`)."""
        expires = self.now() + self.media_url_ttl
        token = secrets.token_urlsafe(16)
        self.media_urls[token] = (media_id, expires)
        return f"{base}/media/{media_id}?ext={int(expires)}&hash={token}"

    def media_url_valid(self, media_id: str, token: str | None) -> bool:
        issued = self.media_urls.get(token or "")
        return issued is not None and issued[0] == media_id and self.now() < issued[1]

    @staticmethod
    def fbtrace_id() -> str:
        return secrets.token_urlsafe(17)[:23]

    def user_of(self, conv: Conversation) -> wh.WhatsAppUser:
        return wh.WhatsAppUser(wa_id=conv.wa_id, user_id=conv.user_id, name=conv.name)

    # ---- long-poll support -----------------------------------------------------------------

    @property
    def changed(self) -> asyncio.Condition:
        if self._changed is None:
            self._changed = asyncio.Condition()
        return self._changed

    async def notify(self) -> None:
        async with self.changed:
            self.changed.notify_all()

    # ---- the status pipeline (§5) ----------------------------------------------------------

    def start_statuses(self, conv: Conversation, sent: SentMessage,
                       failure: ValidationError | None) -> None:
        self.sender.spawn(self._statuses(conv, sent, failure))

    async def _statuses(self, conv: Conversation, sent: SentMessage,
                        failure: ValidationError | None) -> None:
        user = self.user_of(conv)
        if failure is not None:
            sequence = ["failed"]
            self.stats.failed_statuses[failure.code] += 1
            sent.errors.append(failure.to_status_error())
        else:
            sequence = ["sent", "delivered"] + (["read"] if self.read_receipts else [])
            if self.faults.take_reorder() and self.read_receipts:
                self.stats.faults_injected["reorder_statuses"] += 1
                sequence = ["sent", "read", "delivered"]
        for state in sequence:
            await asyncio.sleep(self.status_delay)
            sent.statuses.append(state)
            self.stats.statuses_sent[state] += 1
            item = wh.status(sent.id, state, int(self.now()), user, failure)
            await self.notify()
            try:
                await self.sender.deliver(wh.statuses(self.business, [item], user),
                                          ensure_ascii=self.ensure_ascii)
            except Exception:  # no callback, or the bot vanished: the sequence still completes
                logger.debug("status webhook not delivered")


def build_app(config: SimConfig, clock: Callable[[], float] = time.time) -> web.Application:
    """The aiohttp application with both route tables; the Simulator is at app[SIM_KEY]."""
    from connectors.whatsapp.simulator import control_api, graph_api

    app = web.Application(client_max_size=16 * 1024 * 1024)
    sim = Simulator(config, clock)
    app[SIM_KEY] = sim
    graph_api.add_routes(app)
    control_api.add_routes(app)

    async def _close(_: web.Application) -> None:
        await sim.sender.close()

    app.on_cleanup.append(_close)
    return app


def sim_of(request: web.Request) -> Simulator:
    sim = request.app[SIM_KEY]
    assert isinstance(sim, Simulator)
    return sim


def origin(request: web.Request) -> str:
    """scheme://host:port the caller used (media URLs point back at this server)."""
    return f"{request.scheme}://{request.host}"


def run(config: SimConfig) -> None:
    """Serve until interrupted (used by __main__)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logger.info("simulator listening on %s:%d (callback %s)", config.host, config.port,
                "configured" if config.callback_url else "not configured")
    use_fast_event_loop()
    web.run_app(build_app(config), host=config.host, port=config.port, print=None,
                access_log=None)
