"""The Graph API routes the bot calls, answering as graph.facebook.com does.

Source: whatsapp-cloud-api.md §7 (POST /{version}/{phone-number-id}/messages, bearer token,
success body `{messaging_product, contacts[{input, wa_id|user_id}], messages[{id}]}`, mark as
read → `{"success": true}`), §6 (error bodies and HTTP statuses), §9 (media: GET
/{version}/{media-id} → URL JSON, GET <url> with the bearer token → bytes, POST
/{version}/{phone-number-id}/media multipart → `{"id"}`, DELETE → `{"success": true}`).
Order of checks per call: token, programmed fault, object id, JSON, rules, throughput/pair rate.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging

from aiohttp import web

from connectors.whatsapp.simulator.app import origin, sim_of
from connectors.whatsapp.simulator.errors import (
    ValidationError,
    auth_error,
    bad_parameter,
    missing,
    unknown_object,
)
from connectors.whatsapp.simulator.rules import is_mark_read, recipient_of, validate_send
from connectors.whatsapp.simulator.state import SentMessage, is_phone, normalize_phone

logger = logging.getLogger(__name__)
_V = r"/{version:v\d+\.\d+}"


def add_routes(app: web.Application) -> None:
    app.router.add_post(_V + "/{phone_number_id}/messages", send_message)
    app.router.add_post(_V + "/{phone_number_id}/media", upload_media)
    app.router.add_get(_V + "/{media_id}", media_url)
    app.router.add_delete(_V + "/{media_id}", delete_media)
    app.router.add_get("/media/{media_id}", download_media)


def error_response(request: web.Request, error: ValidationError,
                   retry_after: float | None = None) -> web.Response:
    sim = sim_of(request)
    sim.stats.rejected[error.code] += 1
    logger.info("graph call rejected, code %d, HTTP %d", error.code, error.http_status)
    headers = {"Retry-After": str(int(retry_after))} if retry_after is not None else None
    # Graph tells clients how to authenticate, as Meta does on 401s.
    if error.http_status == 401:
        headers = {**(headers or {}), "WWW-Authenticate": 'OAuth "Facebook Platform" '
                   '"invalid_token" "Invalid OAuth access token"'}
    return web.json_response(error.to_body(sim.fbtrace_id()), status=error.http_status,
                             headers=headers)


def _auth(request: web.Request) -> ValidationError | None:
    """Bearer token check, constant-time (§7 headers; §6 codes 0/190 with HTTP 401)."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer ") or not header[7:].strip():
        return auth_error(token_present=False)
    expected = sim_of(request).config.access_token.encode()
    if not hmac.compare_digest(header[7:].strip().encode(), expected):
        return auth_error(token_present=True)
    return None


async def _preflight(request: web.Request) -> web.Response | None:
    """Token, then a programmed fault (slow answer, 429/5xx); None to go on."""
    sim = sim_of(request)
    sim.stats.graph_calls += 1
    denied = _auth(request)
    if denied is not None:
        return error_response(request, denied)
    delay = sim.faults.next_delay()
    if delay:
        sim.stats.faults_injected["slow"] += 1
        await asyncio.sleep(delay)
    fault = sim.faults.next_graph_fault()
    if fault is not None:
        sim.stats.faults_injected[f"graph_{fault.error.http_status}"] += 1
        return error_response(request, fault.error, fault.retry_after)
    return None


async def send_message(request: web.Request) -> web.Response:
    sim = sim_of(request)
    early = await _preflight(request)
    if early is not None:
        return early
    if request.match_info["phone_number_id"] != sim.config.phone_number_id:
        return error_response(request, unknown_object(request.match_info["phone_number_id"]))
    try:
        body = json.loads(await request.read())
    except (ValueError, UnicodeDecodeError):
        return error_response(request, bad_parameter("The request body is not valid JSON."))
    error = validate_send(body)
    if error is not None:
        return error_response(request, error)
    if is_mark_read(body):
        owner = sim.inbound_owner.get(body["message_id"])
        if owner is not None:
            owner.marked_read.append(body["message_id"])
        sim.stats.marked_read += 1
        await sim.notify()
        return web.json_response({"success": True})
    target = recipient_of(body)
    conv = sim.conversations.find(target)
    known = conv is not None and conv.last_inbound_at is not None
    now = sim.now()
    sync_error = sim.policy.sync_error(conv, now)
    if sync_error is not None:
        return error_response(request, sync_error)
    if conv is None:
        conv = sim.conversations.ensure_identifier(target)
    sim.policy.record_send(conv, now)
    mtype = body.get("type", "text")
    sent = SentMessage(index=len(conv.outbox), id=sim.new_wamid(), type=mtype, body=body,
                       accepted_at=now)
    conv.outbox.append(sent)
    sim.stats.accepted += 1
    sim.start_statuses(conv, sent, sim.policy.async_error(conv, known, mtype, now))
    await sim.notify()
    contact: dict = {"input": target}
    if "to" in body and is_phone(target):
        contact["wa_id"] = normalize_phone(target)
        if conv.user_id:
            contact["user_id"] = conv.user_id
    else:
        contact["user_id"] = target
    return web.json_response({"messaging_product": "whatsapp", "contacts": [contact],
                              "messages": [{"id": sent.id}]})


def _media_json(request: web.Request, media_id: str) -> dict | None:
    stored = sim_of(request).media.get(media_id)
    if stored is None:
        return None
    data, mime = stored
    return {"messaging_product": "whatsapp",
            "url": sim_of(request).issue_media_url(origin(request), media_id),
            "mime_type": mime,
            "sha256": base64.b64encode(hashlib.sha256(data).digest()).decode(),
            "file_size": str(len(data)), "id": media_id}


async def media_url(request: web.Request) -> web.Response:
    early = await _preflight(request)
    if early is not None:
        return early
    media_id = request.match_info["media_id"]
    found = _media_json(request, media_id)
    if found is None:
        return error_response(request, unknown_object(media_id, "get"))
    return web.json_response(found)


async def delete_media(request: web.Request) -> web.Response:
    early = await _preflight(request)
    if early is not None:
        return early
    media_id = request.match_info["media_id"]
    if sim_of(request).media.pop(media_id, None) is None:
        return error_response(request, unknown_object(media_id, "delete"))
    return web.json_response({"success": True})


async def download_media(request: web.Request) -> web.Response:
    """§9: the lookaside URL needs the bearer token too; a missing one fails the download, and
    a URL older than its 5 minutes (or never issued) answers 404: fetch a fresh one."""
    sim = sim_of(request)
    denied = _auth(request)
    if denied is not None:
        return error_response(request, denied)
    media_id = request.match_info["media_id"]
    stored = sim.media.get(media_id)
    if stored is None or not sim.media_url_valid(media_id, request.query.get("hash")):
        return web.Response(status=404, text="Not Found")
    sim.stats.media_downloads += 1
    return web.Response(body=stored[0], content_type=stored[1].split(";")[0])


async def upload_media(request: web.Request) -> web.Response:
    sim = sim_of(request)
    early = await _preflight(request)
    if early is not None:
        return early
    if request.match_info["phone_number_id"] != sim.config.phone_number_id:
        return error_response(request, unknown_object(request.match_info["phone_number_id"]))
    if not request.content_type.startswith("multipart/"):
        return error_response(request, bad_parameter("Upload media as multipart/form-data."))
    fields: dict[str, str] = {}
    data: bytes | None = None
    mime = "application/octet-stream"
    async for part in await request.multipart():
        if part.name == "file":
            data = await part.read()
            mime = part.headers.get("Content-Type", mime)
        elif part.name:
            fields[part.name] = await part.text()
    if fields.get("messaging_product") != "whatsapp":
        return error_response(request, missing("messaging_product"))
    if data is None:
        return error_response(request, missing("file"))
    media_id = sim.new_media_id()
    sim.media[media_id] = (data, fields.get("type", mime))
    return web.json_response({"id": media_id})
