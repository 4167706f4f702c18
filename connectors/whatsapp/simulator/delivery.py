"""Webhook delivery to the bot, as Meta does it: signed exact bytes, redelivery on failure.

Source: whatsapp-cloud-api.md §2 (X-Hub-Signature-256 over the raw bytes: serialize once, sign
those bytes, send those bytes), §8 (non-2xx, timeout or connection error is a failed delivery;
Meta retries with backoff; duplicates happen). Retries and duplicates follow faults.py.
Logs carry counts and HTTP codes only.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import aiohttp

from connectors.whatsapp.simulator.faults import FaultSchedule
from connectors.whatsapp.simulator.state import Stats
from connectors.whatsapp.simulator.webhooks import serialize, sign

logger = logging.getLogger(__name__)

# Answer codes recorded when there was no HTTP answer at all.
NO_ANSWER = 0
TIMEOUT = -1


class NoCallback(RuntimeError):
    """No callback URL is configured, so there is nowhere to deliver webhooks."""


class WebhookSender:
    """Delivers webhook bodies to the configured callback and redelivers failures."""

    def __init__(self, get_callback: Callable[[], str | None], app_secret: str, timeout: float,
                 faults: FaultSchedule, stats: Stats) -> None:
        self._get_callback = get_callback
        self._app_secret = app_secret
        self._timeout = timeout
        self.faults = faults
        self.stats = stats
        self._session: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task] = set()

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None

    def cancel_pending(self) -> None:
        for task in list(self._tasks):
            task.cancel()

    async def deliver(self, body: dict | bytes, *, ensure_ascii: bool = True,
                      duplicate: bool = False, signature: str = "valid") -> int:
        """Deliver once now and return the bot's HTTP status (0 = no answer, -1 = timeout);
        a failure is redelivered in the background. `signature`: valid | bad | none."""
        if self._get_callback() is None:
            raise NoCallback("no callback URL configured (--callback or POST /_sim/config)")
        raw = body if isinstance(body, bytes) else serialize(body, ensure_ascii=ensure_ascii)
        status = await self._attempt(raw, signature)
        if not 200 <= status < 300:
            self._spawn(self._redeliver(raw, signature))
        if duplicate or self.faults.take_duplicate():
            self.stats.faults_injected["duplicate_webhook"] += 1
            self._spawn(self._attempt(raw, signature))
        return status

    def spawn(self, coro) -> asyncio.Task:
        """Run a background job that close() will cancel (status sequences, for example)."""
        return self._spawn(coro)

    def _spawn(self, coro) -> asyncio.Task:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _redeliver(self, raw: bytes, signature: str) -> None:
        for delay in self.faults.retry.delays():
            await asyncio.sleep(delay)
            self.stats.webhook_retries += 1
            if 200 <= await self._attempt(raw, signature) < 300:
                return
        logger.info("webhook dropped after %d attempts", self.faults.retry.attempts)

    async def _attempt(self, raw: bytes, signature: str) -> int:
        url = self._get_callback()
        if url is None:
            return NO_ANSWER
        if self._session is None:
            self._session = aiohttp.ClientSession()
        headers = {"Content-Type": "application/json", "User-Agent": "facebookexternalua"}
        if signature == "valid":
            headers["X-Hub-Signature-256"] = sign(self._app_secret, raw)
        elif signature == "bad":
            headers["X-Hub-Signature-256"] = sign(self._app_secret + "-wrong", raw)
        try:
            timeout = aiohttp.ClientTimeout(total=self._timeout)
            async with self._session.post(url, data=raw, headers=headers,
                                          timeout=timeout) as response:
                await response.read()
                status = response.status
        except asyncio.TimeoutError:
            status = TIMEOUT
        except aiohttp.ClientError:
            status = NO_ANSWER
        self.stats.webhooks_delivered += 1
        self.stats.webhook_answers[_answer_label(status)] += 1
        logger.debug("webhook delivered, answer %s", _answer_label(status))
        return status


def _answer_label(status: int) -> str:
    return {NO_ANSWER: "no_answer", TIMEOUT: "timeout"}.get(status, str(status))
