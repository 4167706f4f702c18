"""The control API (`/_sim/...`): how tests and the chat tool play the user and program Meta.

Not part of Meta's API. Unauthenticated, so the server binds loopback only (config.py).
Errors answer 400 `{"error": "<field>: <rule>"}`; 409 when no callback URL is configured.
Routes and shapes are listed in the package docstring (connectors/whatsapp/simulator/__init__.py).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import json
import logging
from typing import Any

from aiohttp import web

from connectors.whatsapp.simulator import control_settings
from connectors.whatsapp.simulator import webhooks as wh
from connectors.whatsapp.simulator.app import Simulator, origin, sim_of
from connectors.whatsapp.simulator.delivery import NoCallback
from connectors.whatsapp.simulator.faults import FaultSpecError
from connectors.whatsapp.simulator.state import Conversation, normalize_phone
from connectors.whatsapp.simulator.user_actions import (
    UserActionError,
    content_of,
    needs_media,
    reply_context,
)

logger = logging.getLogger(__name__)
_STATUS_RANK = {"accepted": 0, "sent": 1, "delivered": 2, "read": 3, "failed": 9}
MAX_WAIT_SECONDS = 120.0


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/_sim/health", health)
    r.add_get("/_sim/config", control_settings.get_config)
    r.add_post("/_sim/config", control_settings.set_config)
    r.add_post("/_sim/users/{user}/send", user_send)
    r.add_get("/_sim/users/{user}/messages", user_messages)
    r.add_post("/_sim/users/{user}/age_window", age_window)
    r.add_post("/_sim/users/{user}/preferences", preferences)
    r.add_get("/_sim/faults", get_faults)
    r.add_post("/_sim/faults", program_faults)
    r.add_post("/_sim/deliver", deliver)
    r.add_get("/_sim/stats", stats)
    r.add_post("/_sim/reset", reset)


def _bad(message: str, status: int = 400) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def _json(request: web.Request) -> Any:
    raw = await request.read()
    if not raw:
        return {}
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise web.HTTPBadRequest(text='{"error": "body: not valid JSON"}',
                                 content_type="application/json") from None


async def health(request: web.Request) -> web.Response:
    sim = sim_of(request)
    return web.json_response({"status": "ok", "callback_configured": sim.callback_url is not None})


def _conversation(sim: Simulator, user: str, spec: dict) -> Conversation:
    user_id = spec.get("user_id")
    if user_id is not None and (not isinstance(user_id, str) or not user_id):
        raise UserActionError("user_id: expected a non-empty string (a BSUID)")
    conv = sim.conversations.ensure_identifier(user, user_id=user_id)
    if isinstance(spec.get("name"), str) and spec["name"]:
        conv.name = spec["name"]
    return conv


async def user_send(request: web.Request) -> web.Response:
    """The user sends a message: build the §4 webhook, sign it, POST it to the bot. With
    `wait_reply: S`, the answer also carries the bot's messages from then on, long-polled up to S
    seconds as `messages` would: one round trip per turn for a client that plays the user."""
    sim, spec = sim_of(request), await _json(request)
    if not isinstance(spec, dict):
        return _bad("body: expected a JSON object")
    try:
        wait_reply = _seconds(spec.get("wait_reply", 0))
    except ValueError:
        return _bad("wait_reply: expected a number of seconds")
    if sim.callback_url is None:  # before any state changes: the user's message went nowhere
        return _bad(str(NoCallback("no callback URL configured (--callback or POST "
                                   "/_sim/config)")), status=409)
    try:
        conv = _conversation(sim, request.match_info["user"], spec)
        content = content_of(spec, wa_id=conv.wa_id, name=conv.name,
                             last_bot_message_id=conv.outbox[-1].id if conv.outbox else None)
    except UserActionError as exc:
        return _bad(str(exc))
    kind = needs_media(content)
    if kind is not None:
        try:
            data = base64.b64decode(spec.get("data_base64") or b"", validate=True)
        except (binascii.Error, ValueError):
            return _bad("data_base64: not valid base64")
        media_id = sim.new_media_id()
        data = data or f"simulated {kind} {media_id}".encode()
        sim.media[media_id] = (data, content[kind]["mime_type"])
        content[kind].update(id=media_id, url=sim.issue_media_url(origin(request), media_id),
                             sha256=base64.b64encode(hashlib.sha256(data).digest()).decode())
    context = spec.get("context") or reply_context(content, conv.outbox,
                                                    sim.config.display_phone_number)
    message_id, now = sim.new_wamid(), sim.now()
    user = sim.user_of(conv)
    if content["type"] == "system":
        body = wh.system_message(sim.business, user, message_id, int(now), content)
        sim.conversations.add_alias(conv, normalize_phone(content["system"]["wa_id"]))
    else:
        body = wh.inbound(sim.business, user, message_id, int(now), content, context)
        conv.last_inbound_at, conv.last_inbound_id = now, message_id  # §10 opens the window
    sim.inbound_owner[message_id] = conv
    sim.stats.inbound_sent += 1
    before = len(conv.outbox)  # a reply may reach "Meta" before the bot's 200 reaches us
    try:
        status = await sim.sender.deliver(
            body, ensure_ascii=bool(spec.get("ensure_ascii", sim.ensure_ascii)),
            duplicate=bool(spec.get("duplicate", False)),
            signature=str(spec.get("signature", "valid")))
    except NoCallback as exc:
        return _bad(str(exc), status=409)
    answer = {"message_id": message_id, "webhook_status": status, "timestamp": str(int(now)),
              "next": len(conv.outbox)}
    if "wait_reply" in spec:
        answer["replies"] = await _messages_view(sim, request.match_info["user"], before, None,
                                                 wait_reply)
    return web.json_response(answer)


def _ready(conv: Conversation | None, after: int, status: str | None) -> bool:
    if conv is None or len(conv.outbox) <= after:
        return False
    if status is None:
        return True
    wanted = _STATUS_RANK[status]
    return all(max((_STATUS_RANK.get(s, 0) for s in m.statuses), default=0) >= wanted
               for m in conv.outbox[after:])


async def user_messages(request: web.Request) -> web.Response:
    """The bot's messages to this user from index `after` on, long-polling up to `wait` s;
    with `status=sent|delivered|read|failed`, also until each has reached that status."""
    sim, user = sim_of(request), request.match_info["user"]
    try:
        after = int(request.query.get("after", "0"))
        wait = _seconds(request.query.get("wait", "0"))
    except ValueError:
        return _bad("after/wait: expected numbers")
    status = request.query.get("status")
    if status is not None and status not in _STATUS_RANK:
        return _bad(f"status: expected one of {sorted(_STATUS_RANK)}")
    return web.json_response(await _messages_view(sim, user, after, status, wait))


def _seconds(value: Any) -> float:
    """A wait in seconds, capped at MAX_WAIT_SECONDS; ValueError unless a number."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(value)
    seconds = float(value)
    if seconds != seconds:  # NaN
        raise ValueError(value)
    return min(max(seconds, 0.0), MAX_WAIT_SECONDS)


async def _messages_view(
    sim: Simulator, user: str, after: int, status: str | None, wait: float
) -> dict[str, Any]:
    """The bot's messages to `user` from `after` on, once there are some (and each has reached
    `status`, if given) or `wait` seconds have passed."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    async with sim.changed:
        while not _ready(sim.conversations.find(user), after, status):
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            try:
                await asyncio.wait_for(sim.changed.wait(), remaining)
            except asyncio.TimeoutError:
                break
    conv = sim.conversations.find(user)
    if conv is None:
        return {"user": user, "messages": [], "next": 0, "marked_read": [],
                "window_open": False}
    return {
        "user": user, "messages": [m.view() for m in conv.outbox[max(after, 0):]],
        "next": len(conv.outbox), "marked_read": list(conv.marked_read),
        "window_open": conv.window_open(sim.now()),
    }


async def age_window(request: web.Request) -> web.Response:
    """Pretend the user's last message was `hours` ago (to test the §10 24-hour rule)."""
    sim, spec = sim_of(request), await _json(request)
    hours = spec.get("hours") if isinstance(spec, dict) else None
    if isinstance(hours, bool) or not isinstance(hours, (int, float)) or hours < 0:
        return _bad("hours: expected a number >= 0")
    conv = sim.conversations.ensure_identifier(request.match_info["user"])
    conv.last_inbound_at = sim.now() - float(hours) * 3600
    return web.json_response({"window_open": conv.window_open(sim.now()),
                              "last_inbound_at": conv.last_inbound_at})


async def preferences(request: web.Request) -> web.Response:
    """The user taps "stop/resume marketing": a `user_preferences` webhook (§11)."""
    sim, spec = sim_of(request), await _json(request)
    value = spec.get("value") if isinstance(spec, dict) else None
    if value not in ("stop", "resume"):
        return _bad("value: expected 'stop' or 'resume'")
    conv = sim.conversations.ensure_identifier(request.match_info["user"])
    conv.marketing = value
    body = wh.user_preferences(sim.business, sim.user_of(conv), value, int(sim.now()))
    try:
        status = await sim.sender.deliver(body, ensure_ascii=sim.ensure_ascii)
    except NoCallback as exc:
        return _bad(str(exc), status=409)
    return web.json_response({"webhook_status": status})


async def get_faults(request: web.Request) -> web.Response:
    return web.json_response(sim_of(request).faults.pending())


async def program_faults(request: web.Request) -> web.Response:
    sim = sim_of(request)
    try:
        added = sim.faults.program(await _json(request))
    except FaultSpecError as exc:
        return _bad(str(exc))
    return web.json_response({"added": added, "pending": sim.faults.pending()})


async def deliver(request: web.Request) -> web.Response:
    """Deliver an arbitrary webhook: {"body": {...}} or {"raw": "<exact text>"}, plus
    "duplicate", "ensure_ascii", "signature": valid | bad | none."""
    sim, spec = sim_of(request), await _json(request)
    if not isinstance(spec, dict) or ("body" in spec) == ("raw" in spec):
        return _bad("body: give exactly one of 'body' (object) or 'raw' (string)")
    if "raw" in spec and not isinstance(spec["raw"], str):
        return _bad("raw: expected a string")
    signature = spec.get("signature", "valid")
    if signature not in ("valid", "bad", "none"):
        return _bad("signature: expected valid, bad or none")
    payload = spec["raw"].encode("utf-8") if "raw" in spec else spec["body"]
    try:
        status = await sim.sender.deliver(
            payload, ensure_ascii=bool(spec.get("ensure_ascii", sim.ensure_ascii)),
            duplicate=bool(spec.get("duplicate", False)), signature=signature)
    except NoCallback as exc:
        return _bad(str(exc), status=409)
    return web.json_response({"webhook_status": status})


async def stats(request: web.Request) -> web.Response:
    return web.json_response(sim_of(request).stats.to_dict())


async def reset(request: web.Request) -> web.Response:
    sim_of(request).reset()
    return web.json_response({"reset": True})

