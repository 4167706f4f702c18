"""Test kit: the simulator and a tiny stand-in bot, both on real loopback sockets.

For tests in this repository (pytest runs with --import-mode=importlib, so a shared helper has to
live in an importable package). `running()` yields the simulator's base URL, a `Bot` that records
every signed webhook, and a client session; `serve()` runs the simulator alone for end-to-end
tests that bring their own bot. Everything binds 127.0.0.1 on a free port.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from aiohttp import ClientSession, web

from connectors.whatsapp.simulator import SimConfig, build_app

SECRET = "test-app-secret"
TOKEN = "test-access-token"
PNID = "106540352242922"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@dataclass
class Bot:
    """Records every webhook (raw bytes + signature header) and answers `answers` in turn,
    then 200."""

    answers: list[int] = field(default_factory=list)
    received: list[tuple[bytes, str | None]] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append((await request.read(), request.headers.get("X-Hub-Signature-256")))
        self.arrived.set()
        return web.Response(status=self.answers.pop(0) if self.answers else 200)

    def bodies(self) -> list[dict]:
        return [json.loads(raw) for raw, _ in self.received]

    def statuses(self) -> list[tuple[str, str]]:
        """(message id, status) in arrival order."""
        out = []
        for body in self.bodies():
            for change in body["entry"][0]["changes"]:
                for item in change["value"].get("statuses", []):
                    out.append((item["id"], item["status"]))
        return out

    async def wait_for(self, count: int, timeout: float = 5.0) -> None:
        async def _wait() -> None:
            while len(self.received) < count:
                self.arrived.clear()
                await self.arrived.wait()
        await asyncio.wait_for(_wait(), timeout)


async def serve_app(app: web.Application) -> tuple[web.AppRunner, int]:
    """Start an aiohttp app on 127.0.0.1:<free port>; returns (runner to clean up, port)."""
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]


@contextlib.asynccontextmanager
async def running(bot: Bot | None = None, **overrides: object
                  ) -> AsyncIterator[tuple[str, Bot, ClientSession]]:
    """Yield (simulator base URL, bot, client session)."""
    bot = bot or Bot()
    bot_app = web.Application()
    bot_app.router.add_post("/webhooks/whatsapp/webhook", bot.handle)
    bot_runner, bot_port = await serve_app(bot_app)
    settings = {"port": 0, "app_secret": SECRET, "access_token": TOKEN, "status_delay": 0.01,
                "callback_url": f"http://127.0.0.1:{bot_port}/webhooks/whatsapp/webhook",
                **overrides}
    sim_runner, sim_port = await serve_app(build_app(SimConfig(**settings)))  # type: ignore[arg-type]
    try:
        async with ClientSession() as session:
            yield f"http://127.0.0.1:{sim_port}", bot, session
    finally:
        await sim_runner.cleanup()
        await bot_runner.cleanup()


@contextlib.asynccontextmanager
async def serve(**settings: object) -> AsyncIterator[str]:
    """The simulator alone (SimConfig fields as keyword arguments); yields its base URL."""
    runner, port = await serve_app(build_app(SimConfig(**{"port": 0, **settings})))  # type: ignore[arg-type]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def text_to(user: str, body: str = "hello") -> dict:
    return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": user,
            "type": "text", "text": {"body": body}}


def buttons_to(user: str) -> dict:
    return {"messaging_product": "whatsapp", "to": user, "type": "interactive",
            "interactive": {"type": "button", "body": {"text": "Continue?"}, "action": {
                "buttons": [{"type": "reply", "reply": {"id": "/affirm", "title": "Yes"}},
                            {"type": "reply", "reply": {"id": "/deny", "title": "No"}}]}}}
