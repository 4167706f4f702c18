"""The terminal chat, driven through piped stdin against the simulator and a stub bot that
answers the way the real channel does (200 first, Graph API calls after)."""

from __future__ import annotations

import asyncio
import io
import json

from aiohttp import ClientSession, web

from connectors.whatsapp.simulator.chat import command_request, render, run
from connectors.whatsapp.simulator.testing import AUTH, PNID, Bot, buttons_to, running, text_to

USER = "393331234567"


class EchoBot(Bot):
    """Answers "hi" with Yes/No buttons and a button tap with "you chose <id>"."""

    base = ""

    async def handle(self, request: web.Request) -> web.Response:
        response = await super().handle(request)
        value = json.loads(self.received[-1][0])["entry"][0]["changes"][0]["value"]
        for message in value.get("messages", []):
            asyncio.ensure_future(self.reply(message))
        return response

    async def reply(self, message: dict) -> None:
        if message["type"] == "interactive":
            body = text_to(USER, "you chose " + message["interactive"]["button_reply"]["id"])
        else:
            body = buttons_to(USER)
        async with ClientSession() as session:
            await session.post(f"{self.base}/v23.0/{PNID}/messages", json=body, headers=AUTH)


async def test_piped_chat_renders_buttons_and_taps_them() -> None:
    bot = EchoBot()
    async with running(bot) as (base, bot, _):
        bot.base = base
        out = io.StringIO()
        code = await asyncio.to_thread(run, base, USER, io.StringIO("hi\n2\n/quit\nignored\n"),
                                       out, reply_timeout=5.0, settle=0.3)
    assert code == 0
    lines = out.getvalue().splitlines()
    assert "bot> Continue?" in lines
    assert "bot> [1] Yes  [2] No" in lines
    assert "bot> you chose /deny" in lines
    taps = [m for b in bot.bodies() for m in b["entry"][0]["changes"][0]["value"]
            .get("messages", []) if m["type"] == "interactive"]
    assert taps[0]["interactive"]["button_reply"] == {"id": "/deny", "title": "No"}


def test_render_list_and_numbered_rows() -> None:
    body = {"type": "interactive", "interactive": {
        "type": "list", "body": {"text": "Pick"}, "action": {"button": "Menu", "sections": [
            {"title": "Main", "rows": [{"id": "a", "title": "Alpha", "description": "first"},
                                       {"id": "b", "title": "Beta"}]}]}}}
    lines, choices = render(body)
    assert lines == ["Pick", "(Menu)", "  Main", "  [1] Alpha - first", "  [2] Beta"]
    assert command_request("2", choices) == {"list_reply": {"id": "b", "title": "Beta"}}
    assert command_request("3", choices) == {"text": "3"}
    assert command_request("/quit", choices) is None
    assert command_request("/location 1 2", []) == {"type": "location", "latitude": 1.0,
                                                    "longitude": 2.0}


def test_unreachable_simulator_exits_1() -> None:
    assert run("http://127.0.0.1:9", USER, io.StringIO(""), io.StringIO()) == 1
