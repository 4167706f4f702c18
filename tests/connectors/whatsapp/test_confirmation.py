"""The consent CLI's confirmation template books on the pacer the channel books on: with
WHATSAPP_PACING_REDIS_URL its send shows up in Redis's budget for the business number, under the
channel's keyed hash of the recipient, and waits out a penalty the channel recorded. Meta is an
httpx.MockTransport; Redis is SIGILLO_TEST_REDIS_URL (those cases skip without it)."""

from __future__ import annotations

import logging
import os
import secrets
import time
from pathlib import Path

import httpx
import pytest
import redis.asyncio as redis_asyncio

from compliance.gate import ComplianceGate
from connectors.whatsapp.confirmation import CONFIRM_PAYLOAD, send_confirmation_template
from connectors.whatsapp.pacing_redis import DEFAULT_NAMESPACE, RedisPacer
from tests.compliance_env import compliance_context

PHONE = "+393331234567"
WAMID = "wamid.HBgLMzkzMzMxMjM0NTY3FQIAERgSQ0FGRTEyMzQ1Njc4OTAA"
ACCEPTED = {
    "messaging_product": "whatsapp",
    "contacts": [{"input": PHONE, "wa_id": PHONE[1:]}],
    "messages": [{"id": WAMID, "message_status": "accepted"}],
}


class FakeMeta:
    """Accepts every send; records when each request arrived."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.arrived: list[float] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.arrived.append(time.monotonic())
        return httpx.Response(200, json=ACCEPTED)


@pytest.fixture
def gate(tmp_path: Path):
    context = compliance_context(tmp_path)
    yield ComplianceGate(context)
    context.audit.close()


@pytest.fixture
def number() -> str:
    """A business number of this test's own: its Redis keys are nobody else's."""
    return "1" + "".join(secrets.choice("0123456789") for _ in range(14))


def environ(number: str, redis_url: str | None) -> dict[str, str]:
    env = {
        "WHATSAPP_APP_SECRET": "app-secret-value",
        "WHATSAPP_VERIFY_TOKEN": "verify-token-value",
        "WHATSAPP_ACCESS_TOKEN": "EAAG-access-token",
        "WHATSAPP_PHONE_NUMBER_ID": number,
        "WHATSAPP_API_BASE_URL": "https://graph.test",
    }
    if redis_url is not None:
        env["WHATSAPP_PACING_REDIS_URL"] = redis_url
    return env


@pytest.fixture
async def redis_url(number: str):
    url = os.environ.get("SIGILLO_TEST_REDIS_URL")
    if not url:
        pytest.skip("SIGILLO_TEST_REDIS_URL is not set (e.g. redis://127.0.0.1:6379/0)")
    yield url
    client = redis_asyncio.from_url(url)
    keys = [key async for key in client.scan_iter(match=f"{DEFAULT_NAMESPACE}:{{{number}}}:*")]
    if keys:
        await client.delete(*keys)
    await client.close(close_connection_pool=True)


def channel_pacer(gate: ComplianceGate, redis_url: str) -> RedisPacer:
    """The pacer a Rasa server's channel builds (channel.py: the gate's 'pacing' keyed hash)."""
    return RedisPacer(redis_url, recipient_key=lambda r: gate.keyed_hash("pacing", r))


async def test_the_send_is_booked_in_the_budget_the_servers_share(gate, number, redis_url) -> None:
    subject = gate.context.vault.register("phone", PHONE)
    meta = FakeMeta()
    env, transport = environ(number, redis_url), httpx.MockTransport(meta)
    await send_confirmation_template(gate, subject, environ=env, transport=transport)
    assert len(meta.requests) == 1
    client = redis_asyncio.from_url(redis_url)
    tat = f"{DEFAULT_NAMESPACE}:{{{number}}}:tat"
    instances = f"{DEFAULT_NAMESPACE}:{{{number}}}:instances"
    try:
        assert await client.pttl(tat) > 0  # the CLI's slot, in the number's shared bucket
        assert await client.zcard(instances) == 1
        server = channel_pacer(gate, redis_url)
        assert await server.book_in_redis(subject, number) is not None
        await server.aclose()
        assert await client.zcard(instances) == 2  # the server books on the same bucket
    finally:
        await client.close(close_connection_pool=True)


async def test_the_send_waits_out_a_penalty_the_channel_recorded(gate, number, redis_url) -> None:
    subject = gate.context.vault.register("phone", PHONE)
    server = channel_pacer(gate, redis_url)
    await server.pair_rate_limited(0.0, subject, 0.4, number)  # a 131056 seen by a server
    await server.aclose()
    meta = FakeMeta()
    started = time.monotonic()
    await send_confirmation_template(
        gate, subject, environ=environ(number, redis_url), transport=httpx.MockTransport(meta)
    )
    # Only the same keyed hash of the same pseudonym finds that penalty.
    assert meta.arrived[0] - started >= 0.3


async def test_without_redis_the_send_is_paced_in_this_process(gate, number) -> None:
    subject = gate.context.vault.register("phone", PHONE)
    meta = FakeMeta()
    id_hash = await send_confirmation_template(
        gate, subject, environ=environ(number, None), transport=httpx.MockTransport(meta)
    )
    assert id_hash == gate.keyed_hash("message_id", WAMID)
    (request,) = meta.requests
    assert request.url.path == f"/v23.0/{number}/messages"
    assert CONFIRM_PAYLOAD.encode() in request.content


async def test_redis_unreachable_still_sends_with_one_warning(gate, number, caplog) -> None:
    subject = gate.context.vault.register("phone", PHONE)
    meta = FakeMeta()
    env = environ(number, "redis://:hunter2@127.0.0.1:1/0")  # a closed port
    with caplog.at_level(logging.WARNING, logger="connectors.whatsapp.pacing_redis"):
        await send_confirmation_template(
            gate, subject, environ=env, transport=httpx.MockTransport(meta)
        )
    assert len(meta.requests) == 1  # paced locally: the confirmation is not lost
    codes = [r.getMessage().split()[0] for r in caplog.records]
    assert codes == ["whatsapp.pacing.redis_unavailable"]
    assert "hunter2" not in caplog.text
