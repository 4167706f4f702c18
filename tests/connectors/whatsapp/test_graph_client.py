"""GraphClient over httpx.MockTransport: retries, pacing, typed errors, and no personal data
or token in logs. Sleep and clock are injected, so nothing here waits."""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from connectors.whatsapp.graph_client import USER_AGENT, GraphClient
from connectors.whatsapp.graph_errors import (
    AuthError,
    GraphNetworkError,
    OutsideCustomerWindow,
    Permanent,
    Retryable,
)
from connectors.whatsapp.outbound_rendering import Recipient, mark_read_body, render_response
from connectors.whatsapp.pacing import Pacer

RESPONSES = Path(__file__).parents[2] / "fixtures" / "whatsapp_outbound" / "api-responses"
TOKEN = "EAAG-test-token-never-log-me"
PHONE = "16505551234"
TEXT = "Ciao Ada, your prescription is ready"
BODY = render_response(Recipient(phone=PHONE), {"text": TEXT}).bodies[0]
MESSAGES_PATH = "/v23.0/106540352242922/messages"


def fixture(name: str) -> Any:
    return json.loads((RESPONSES / name).read_text(encoding="utf-8"))


def graph_error(code: int, title: str = "Error", status: int = 400, **headers: str):
    body = {
        "error": {
            "message": f"(#{code}) {title}",
            "type": "OAuthException",
            "code": code,
            "error_data": {"messaging_product": "whatsapp", "details": f"{TEXT} to {PHONE}"},
            "fbtrace_id": f"trace{code}",
        }
    }
    return httpx.Response(status, json=body, headers=headers)


OK = httpx.Response(200, json=fixture("meta-openapi__example-response.json"))


class Script:
    """Answers requests from a list of responses or exceptions, recording every request."""

    def __init__(self, *answers: httpx.Response | Exception | Callable[[], Any]) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


def client(script: Script, fake_time: FakeTime, **kwargs: Any) -> GraphClient:
    options: dict[str, Any] = {
        "base_url": "https://graph.test",
        "api_version": "v23.0",
        "phone_number_id": "106540352242922",
        "access_token": TOKEN,
        "transport": httpx.MockTransport(script),
        "sleep": fake_time.sleep,
        "clock": fake_time.clock,
        "rng": random.Random(7),
        **kwargs,
    }
    return GraphClient(**options)


async def test_send_success(fake_time: FakeTime) -> None:
    script = Script(OK)
    async with client(script, fake_time) as graph:
        result = await graph.send(BODY)
    assert result.message_id == "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJCOTY3NDc0NDFDRUI3NTA0Q0UA"
    assert result.wa_id == PHONE
    (request,) = script.requests
    assert request.method == "POST" and request.url.path == MESSAGES_PATH
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["User-Agent"] == USER_AGENT
    assert json.loads(request.content) == BODY
    assert fake_time.sleeps == []


async def test_throttled_then_success_honours_retry_after(fake_time: FakeTime) -> None:
    script = Script(graph_error(130429, "Rate limit hit", 429, **{"Retry-After": "2"}), OK)
    async with client(script, fake_time) as graph:
        await graph.send(BODY)
    assert len(script.requests) == 2
    assert fake_time.sleeps == [2.0]


async def test_server_error_then_success(fake_time: FakeTime) -> None:
    script = Script(httpx.Response(500, text="<html>oops</html>"), OK)
    async with client(script, fake_time) as graph:
        await graph.send(BODY)
    assert len(script.requests) == 2
    assert len(fake_time.sleeps) == 1 and 0.0 <= fake_time.sleeps[0] <= 0.5


async def test_network_error_then_success(fake_time: FakeTime) -> None:
    script = Script(httpx.ConnectError("connection refused"), httpx.ReadTimeout("slow"), OK)
    async with client(script, fake_time) as graph:
        result = await graph.send(BODY)
    assert result.message_id.startswith("wamid.")
    assert len(script.requests) == 3 and len(fake_time.sleeps) == 2


async def test_pair_rate_waits_one_then_four_seconds(fake_time: FakeTime) -> None:
    script = Script(graph_error(131056), graph_error(131056), OK)
    async with client(script, fake_time) as graph:
        await graph.send(BODY)
    assert fake_time.sleeps == [1.0, 4.0]


PERMANENT_CASES = [
    ("param_invalid_131009", graph_error(131009, "Parameter value is not valid"), Permanent),
    ("outside_window_131047", graph_error(131047, "Re-engagement message"), OutsideCustomerWindow),
    ("token_expired_190", graph_error(190, "Access token has expired", 401), AuthError),
    ("bare_401", httpx.Response(401), AuthError),
    ("unreadable_200", httpx.Response(200, text="not json"), Permanent),
    ("200_without_id", httpx.Response(200, json={"messages": []}), Permanent),
]


@pytest.mark.parametrize(
    ("answer", "error"), [c[1:] for c in PERMANENT_CASES], ids=[c[0] for c in PERMANENT_CASES]
)
async def test_permanent_errors_raise_after_one_attempt(answer, error, fake_time) -> None:
    script = Script(answer)
    async with client(script, fake_time) as graph:
        with pytest.raises(error) as info:
            await graph.send(BODY)
    assert type(info.value) is error
    assert len(script.requests) == 1 and fake_time.sleeps == []


async def test_max_attempts_exhausted_raises_last_typed_error(fake_time: FakeTime) -> None:
    script = Script(graph_error(131016, status=503), graph_error(131000, status=500))
    async with client(script, fake_time, max_attempts=3) as graph:
        with pytest.raises(Retryable) as info:
            await graph.send(BODY)
    assert len(script.requests) == 3 and len(fake_time.sleeps) == 2
    assert info.value.code == 131000 and info.value.fbtrace_id == "trace131000"


async def test_network_errors_exhausted(fake_time: FakeTime) -> None:
    script = Script(httpx.ConnectError("refused"))
    async with client(script, fake_time, max_attempts=2) as graph:
        with pytest.raises(GraphNetworkError, match="ConnectError"):
            await graph.send(BODY)
    assert len(script.requests) == 2


async def test_pacer_spaces_sends(fake_time: FakeTime) -> None:
    script = Script(OK)
    async with client(script, fake_time, pacer=Pacer(rate_per_second=1, burst=1)) as graph:
        await graph.send(BODY)
        await graph.send(BODY)
    assert fake_time.sleeps == [1.0]


async def test_clients_sharing_a_pacer_pace_together(fake_time: FakeTime) -> None:
    pacer = Pacer(rate_per_second=1, burst=1)
    async with client(Script(OK), fake_time, pacer=pacer) as turns:
        async with client(Script(OK), fake_time, pacer=pacer) as api:
            await turns.send(BODY)
            await api.send(BODY)  # the second send of the number, whichever client sends it
    assert fake_time.sleeps == [1.0]


@pytest.mark.parametrize(
    ("name", "wa_id", "user_id", "status"),
    [
        ("metadocs__send-response-bsuid-block15.json", None, "US.13491208655302741918", None),
        ("metadocs__send-response-bsuid-block16.json", PHONE, "US.13491208655302741918", None),
        ("metadocs__send-response-bsuid-block19.json", PHONE, None, "accepted"),
        ("meta-openapi__send-text-message.json", "48XXXXXXXXX", None, None),
    ],
)
async def test_send_result_shapes(name, wa_id, user_id, status, fake_time) -> None:
    async with client(Script(httpx.Response(200, json=fixture(name))), fake_time) as graph:
        result = await graph.send(BODY)
    assert (result.wa_id, result.user_id, result.message_status) == (wa_id, user_id, status)
    assert PHONE not in repr(result)


async def test_mark_read(fake_time: FakeTime) -> None:
    answer = httpx.Response(
        200, json=fixture("meta-openapi__send-typing-indicator-and-read-receipt.json")
    )
    script = Script(answer)
    async with client(script, fake_time) as graph:
        assert await graph.mark_read("wamid.ABC", typing=True) is None
    assert json.loads(script.requests[0].content) == mark_read_body("wamid.ABC", typing=True)


async def test_media_url(fake_time: FakeTime) -> None:
    answer = fixture("meta-openapi__retrieve-media-url.json") | {
        "url": "https://lookaside.fbsbx.com/x?mid=1"
    }
    script = Script(httpx.Response(200, json=answer))
    async with client(script, fake_time) as graph:
        info = await graph.media_url("2621233374848975")
        with pytest.raises(ValueError):
            await graph.media_url("../106540352242922/messages")
        with pytest.raises(ValueError):
            await graph.media_url("..")
    assert info.url == "https://lookaside.fbsbx.com/x?mid=1"
    assert (info.mime_type, info.file_size) == ("image/jpeg", 303833)
    request = script.requests[0]
    assert request.url.path == "/v23.0/2621233374848975"
    assert request.url.params["phone_number_id"] == "106540352242922"
    assert len(script.requests) == 1


async def test_download_media_sends_token_and_user_agent(fake_time: FakeTime) -> None:
    script = Script(httpx.Response(200, content=b"\x89PNG..."))
    async with client(script, fake_time) as graph:
        data = await graph.download_media(
            "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1"
        )
    assert data == b"\x89PNG..."
    request = script.requests[0]
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["User-Agent"] == USER_AGENT


@pytest.mark.parametrize(
    "url",
    ["https://evil.test/a", "http://lookaside.fbsbx.com/a", "https://fbsbx.com.evil.test/a"],
    ids=["foreign_host", "plain_http", "suffix_trick"],
)
async def test_download_media_refuses_other_hosts(url: str, fake_time: FakeTime) -> None:
    script = Script(OK)
    async with client(script, fake_time) as graph:
        with pytest.raises(ValueError):
            await graph.download_media(url)
    assert script.requests == []


async def test_download_media_from_the_simulator_host(fake_time: FakeTime) -> None:
    script = Script(httpx.Response(200, content=b"abc"))
    async with client(script, fake_time, base_url="http://127.0.0.1:9999") as graph:
        assert await graph.download_media("http://127.0.0.1:9999/media/1") == b"abc"


async def test_download_media_expired_and_too_large(fake_time: FakeTime) -> None:
    async with client(Script(httpx.Response(404)), fake_time) as graph:
        with pytest.raises(Permanent):
            await graph.download_media("https://lookaside.fbsbx.com/a")
    async with client(Script(httpx.Response(200, content=b"x" * 11)), fake_time) as graph:
        with pytest.raises(Permanent, match="larger"):
            await graph.download_media("https://lookaside.fbsbx.com/a", max_bytes=10)


class RevealSecret:
    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __str__(self) -> str:
        return "**********"


async def test_secret_like_token_and_reprs(fake_time: FakeTime) -> None:
    script = Script(OK)
    async with client(script, fake_time, access_token=RevealSecret(TOKEN)) as graph:
        await graph.send(BODY)
        assert TOKEN not in repr(graph) and TOKEN not in repr(graph._http.auth)
    assert script.requests[0].headers["Authorization"] == f"Bearer {TOKEN}"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"api_version": "23"},
        {"phone_number_id": "1/2"},
        {"base_url": "graph.test"},
        {"access_token": ""},
        {"max_attempts": 0},
        {"timeout": 0},
    ],
    ids=["version", "phone_number_id", "base_url", "empty_token", "max_attempts", "timeout"],
)
def test_invalid_configuration_names_the_field(kwargs, fake_time: FakeTime) -> None:
    with pytest.raises(ValueError) as info:
        client(Script(OK), fake_time, **kwargs)
    assert TOKEN not in str(info.value)


async def test_logs_never_contain_phone_text_or_token(caplog, fake_time: FakeTime) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, httpx's included
    script = Script(
        graph_error(130429, status=429),
        httpx.ConnectError(f"refused {PHONE}"),
        httpx.Response(500),
        OK,
        graph_error(131047),
        *[graph_error(131000, status=500)] * 4,
        httpx.Response(200, json={"success": True}),
    )
    errors: list[Exception] = []
    async with client(script, fake_time, max_attempts=4) as graph:
        await graph.send(BODY)
        for _ in range(2):
            try:
                await graph.send(BODY)
            except Exception as exc:  # noqa: BLE001 - collected to check their texts too
                errors.append(exc)
        await graph.mark_read("wamid.ABC")
    assert len(errors) == 2 and caplog.records
    assert any("fbtrace_id=trace130429" in r.getMessage() for r in caplog.records)
    # A wamid embeds the recipient's number (base64), so ids never reach the logs either.
    assert not any("wamid." in r.getMessage() for r in caplog.records)
    logged = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    shown = logged + "\n".join(f"{e} {e!r}" for e in errors)
    for secret in (PHONE, TEXT, "Ada", TOKEN):
        assert secret not in shown
