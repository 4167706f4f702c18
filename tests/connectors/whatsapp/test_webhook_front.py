"""The webhook front: Meta's callback served by a process of its own. It answers as the Rasa
server's route does, rings the doorbell for each newly recorded message and for nothing else,
refuses to start with its reason, comes back when it dies, and never outlives its parent."""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from compliance.audit.reader import iter_entries
from compliance.context import build_context
from compliance.storage import create_engine_from_url
from connectors.whatsapp.cpu_affinity import cpus_of
from connectors.whatsapp.receiver_pool import WebhookWorkersFailed
from connectors.whatsapp.simulator import SimConfig, build_app
from connectors.whatsapp.simulator.testing import serve_app
from connectors.whatsapp.simulator.webhooks import sign
from connectors.whatsapp.webhook_front import HEALTH_PATH, HEARTBEAT_SECONDS, WEBHOOK_PATH
from connectors.whatsapp.webhook_front_process import WebhookFront
from devstack.processes import free_port
from tests.compliance_env import serve_env

REPO = Path(__file__).resolve().parents[3]
FIXTURES = REPO / "tests" / "fixtures" / "whatsapp"
TEXT_WEBHOOK = FIXTURES / "webhooks-sigillo" / "msg-text__sigillo__phone-and-bsuid.json"
SECRET = "front-test-secret"
VERIFY = "front-verify-token"


def credentials(port: int, **extra: object) -> dict[str, object]:
    return {
        "app_secret": SECRET,
        "verify_token": VERIFY,
        "access_token": "token",
        "phone_number_id": "106540352242922",
        "webhook_port": port,
        "webhook_host": "127.0.0.1",
        **extra,
    }


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The environment the Rasa server gives its front: key file, database, settings."""
    return serve_env(tmp_path, monkeypatch)


class Doorbell:
    """What the front told the server, as the channel's callback would receive it."""

    def __init__(self) -> None:
        self.rings: list[list[tuple[int, str]]] = []
        self._rang = threading.Event()

    def __call__(self, recorded: list[tuple[int, str]]) -> None:
        self.rings.append(recorded)
        self._rang.set()

    def wait(self, timeout: float = 10.0) -> list[tuple[int, str]]:
        assert self._rang.wait(timeout), "the front recorded but did not ring"
        self._rang.clear()
        return self.rings[-1]


def start(front: WebhookFront) -> None:
    asyncio.run(front.start())


@pytest.fixture
def running(database: str) -> Iterator[tuple[WebhookFront, Doorbell, str]]:
    port = free_port()
    doorbell = Doorbell()
    front = WebhookFront(credentials(port, max_body_bytes=4096), doorbell)
    start(front)
    try:
        yield front, doorbell, f"http://127.0.0.1:{port}"
    finally:
        front.stop()


def post(url: str, raw: bytes, secret: str = SECRET) -> httpx.Response:
    headers = {"X-Hub-Signature-256": sign(secret, raw), "Content-Type": "application/json"}
    return httpx.post(url + WEBHOOK_PATH, content=raw, headers=headers, timeout=10)


def inbox_rows(url: str) -> int:
    with create_engine_from_url(url).connect() as conn:
        return conn.execute(sa.text("SELECT count(*) FROM wa_inbox")).scalar_one()


def test_the_front_records_answers_and_rings_once_per_new_message(running, database) -> None:
    front, doorbell, url = running
    raw = TEXT_WEBHOOK.read_bytes()

    first = post(url, raw)
    rung = doorbell.wait()
    again = post(url, raw)  # Meta's redelivery
    forged = post(url, raw, secret="another-secret")

    assert front.pid is not None and front.pid != os.getpid()
    assert first.status_code == 200 and first.json() == {"status": "ok", "accepted": 1}
    assert len(rung) == 1 and rung[0][1].startswith("wa_")
    assert again.status_code == 200 and again.json()["accepted"] == 0
    assert forged.status_code == 403
    time.sleep(0.2)
    assert len(doorbell.rings) == 1  # neither the redelivery nor the forgery rang
    assert inbox_rows(database) == 1


@pytest.mark.parametrize(
    ("body", "signed", "status", "reason"),
    [
        (b"{not json", True, 400, "not valid JSON"),
        (b"[]", True, 400, "not a JSON object"),
        (b"{}", False, 401, None),
        (b"{" + b" " * 5000 + b"}", True, 413, "larger than 4096 bytes"),
    ],
    ids=["malformed", "not-an-object", "unsigned", "too-large"],
)
def test_bad_posts_get_the_receivers_answer_and_ring_nothing(
    running, body: bytes, signed: bool, status: int, reason: str | None
) -> None:
    _front, doorbell, url = running
    if signed:
        answer = post(url, body)
    else:
        answer = httpx.post(url + WEBHOOK_PATH, content=body, timeout=10)
    assert answer.status_code == status
    if reason:
        assert reason in answer.json()["error"]
    assert doorbell.rings == []


def test_the_verification_handshake_and_health(running) -> None:
    _front, _doorbell, url = running
    params = {"hub.mode": "subscribe", "hub.verify_token": VERIFY, "hub.challenge": "1158201444"}
    good = httpx.get(url + WEBHOOK_PATH, params=params)
    bad = httpx.get(url + WEBHOOK_PATH, params={**params, "hub.verify_token": "wrong"})
    health = httpx.get(url + HEALTH_PATH)
    assert (good.status_code, good.text) == (200, "1158201444")
    assert bad.status_code == 403
    assert health.json() == {"status": "ok"}


def test_a_front_that_dies_is_replaced_and_rings_again(running) -> None:
    front, doorbell, url = running
    victim = front.pid
    assert victim is not None
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 60
    while front.pid == victim and time.monotonic() < deadline:
        time.sleep(0.2)
    assert front.pid not in (None, victim), "no new front"
    answer = post(url, TEXT_WEBHOOK.read_bytes().replace(b"wamid.", b"wamid.again"))
    assert answer.status_code == 200 and answer.json()["accepted"] == 1
    assert len(doorbell.wait()) == 1


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two CPUs to give one away")
def test_every_front_runs_on_the_cpus_it_is_given_restarted_ones_too(database) -> None:
    """Started by a server pinned to its own core, the front moves itself off it first."""
    helpers = frozenset({max(os.sched_getaffinity(0))})
    front = WebhookFront(credentials(free_port()), Doorbell(), cpus=helpers)
    start(front)
    try:
        first = front.pid
        assert first is not None
        assert cpus_of(first) == helpers  # every thread, the sending thread too
        os.kill(first, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while front.pid == first and time.monotonic() < deadline:
            time.sleep(0.2)
        assert front.pid not in (None, first), "no new front"
        assert cpus_of(front.pid) == helpers  # type: ignore[arg-type]
        assert os.sched_getaffinity(0) != helpers  # the starting process stays where it was
    finally:
        front.stop()


def test_a_front_that_stops_answering_is_killed_and_replaced(database) -> None:
    """Alive but wedged (here: stopped) ends no pipe: its silence gives it away. An idle front
    keeps saying it is alive, so quiet hours never restart it."""
    port = free_port()
    doorbell = Doorbell()
    front = WebhookFront(credentials(port), doorbell, stall_seconds=2.5)
    start(front)
    try:
        victim = front.pid
        assert victim is not None
        time.sleep(6)  # more than twice the limit, with no traffic at all
        assert front.pid == victim, "an idle front was taken for a stalled one"
        os.kill(victim, signal.SIGSTOP)
        deadline = time.monotonic() + 60
        while front.pid == victim and time.monotonic() < deadline:
            time.sleep(0.2)
        assert front.pid not in (None, victim), "the stopped front was not replaced"
        with pytest.raises(ProcessLookupError):
            os.kill(victim, 0)  # killed (a stopped process heeds nothing else) and reaped
        url = f"http://127.0.0.1:{port}"
        answer = post(url, TEXT_WEBHOOK.read_bytes())
        assert answer.status_code == 200 and answer.json()["accepted"] == 1
        assert len(doorbell.wait()) == 1
    finally:
        front.stop()


def test_a_stall_limit_within_one_heartbeat_is_refused() -> None:
    with pytest.raises(ValueError, match="stall_seconds"):
        WebhookFront(credentials(free_port()), Doorbell(), stall_seconds=HEARTBEAT_SECONDS)


def test_a_server_that_stops_reading_does_not_stop_the_acknowledgements(database) -> None:
    """The server's listener stuck (a stopped or far-behind server): once the pipe is full, the
    front drops rings instead of waiting, keeps answering Meta, and records every message for
    the sweep; the rings that fit arrive whole once the server reads again."""
    stuck = threading.Event()
    doorbell = Doorbell()

    def stuck_server(recorded: list[tuple[int, str]]) -> None:
        doorbell(recorded)
        stuck.wait(60)

    port = free_port()
    front = WebhookFront(credentials(port), stuck_server)
    start(front)
    try:
        assert front._doorbell is not None
        # The smallest pipe Linux allows (a page), so that a few dozen rings fill it.
        fcntl.fcntl(front._doorbell.fileno(), fcntl.F_SETPIPE_SZ, 4096)
        raw = TEXT_WEBHOOK.read_bytes()
        url = f"http://127.0.0.1:{port}"
        sent = 150
        for n in range(sent):
            answer = post(url, raw.replace(b"wamid.", f"wamid.full{n}.".encode()))
            assert answer.status_code == 200 and answer.json()["accepted"] == 1, n
        assert inbox_rows(database) == sent
    finally:
        stuck.set()
        time.sleep(0.5)
        front.stop()
    rung = [seq for ring in doorbell.rings for seq, _ in ring]
    assert 1 <= len(rung) < sent, "the pipe never filled: the test proves nothing"
    assert rung == sorted(set(rung))


@pytest.fixture
def graph_simulator() -> Iterator[str]:
    """The Cloud API simulator on a thread of its own; the front's Graph calls go there."""
    loop = asyncio.new_event_loop()
    # No window rule: these tests send to users who never wrote (no callback to write through).
    app = build_app(SimConfig(port=0, access_token="token", status_delay=60, enforce_window=False))
    runner, port = loop.run_until_complete(serve_app(app))
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


def audit_entries(url: str) -> list[tuple[str, dict]]:
    return [
        (entry.kind, json.loads(entry.attributes))
        for entry in iter_entries(create_engine_from_url(url))
        if entry.kind in ("outbound_message", "delivery_status")
    ]


@pytest.mark.parametrize("text", ["your order ships tomorrow", ""], ids=["sent", "refused"])
def test_the_front_sends_the_servers_orders_and_audits_them(
    database, graph_simulator, text: str
) -> None:
    """A reply the server orders leaves from the front, and Meta's (the simulator's) answer is
    audited there: the message id of one it accepted, the error code of one it refused (an
    empty text: code 131009). Either way the turn's await ends, as after a local send."""
    user = "447700900123"
    subject = build_context(os.environ, component="cli").vault.register("phone", "+" + user)
    front = WebhookFront(credentials(free_port(), api_base_url=graph_simulator), Doorbell())
    start(front)
    body = {"messaging_product": "whatsapp", "to": user, "type": "text", "text": {"body": text}}
    try:
        asyncio.run(asyncio.wait_for(front.orders.send_all(subject, [body], "utter_eta"), 20))
    finally:
        front.stop()
    got = httpx.get(f"{graph_simulator}/_sim/users/{user}/messages", timeout=10).json()
    [(kind, attributes)] = audit_entries(database)
    if text:
        assert [m["body"]["text"]["body"] for m in got["messages"]] == [text]
        assert kind == "outbound_message" and attributes["response"] == "utter_eta"
    else:
        assert got["messages"] == []
        assert kind == "delivery_status" and attributes["error_code"] == 131009


def test_a_blue_tick_ordered_from_the_server_reaches_meta(database, graph_simulator) -> None:
    front = WebhookFront(credentials(free_port(), api_base_url=graph_simulator), Doorbell())
    start(front)
    try:
        front.orders.mark_read("wamid.HBgLMTU1NTA3ODM4ODEVAgASGBQzQTdCNTg5RjBEMkE3RUE5QkYzRQA=")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            stats = httpx.get(f"{graph_simulator}/_sim/stats", timeout=10).json()
            if stats["marked_read"]:
                break
            time.sleep(0.1)
    finally:
        front.stop()
    assert stats["marked_read"] == 1


def test_a_port_in_use_stops_the_start_with_the_port(database) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        front = WebhookFront(credentials(port), Doorbell())
        with pytest.raises(WebhookWorkersFailed, match=f"cannot listen on 127.0.0.1:{port}"):
            start(front)
        front.stop()


def test_a_bad_setting_stops_the_start_with_its_name(database) -> None:
    front = WebhookFront(credentials(free_port(), app_secret=""), Doorbell())
    with pytest.raises(WebhookWorkersFailed, match="'app_secret'"):
        start(front)
    front.stop()


def test_stop_ends_the_front_and_frees_the_port(database) -> None:
    port = free_port()
    front = WebhookFront(credentials(port), Doorbell())
    start(front)
    pid = front.pid
    front.stop()
    assert not _alive(pid)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", port))  # free again


_ORPHAN_SCRIPT = """
import asyncio, sys, time
from connectors.whatsapp.webhook_front_process import WebhookFront
front = WebhookFront({credentials!r}, lambda recorded: None)
asyncio.run(front.start())
print(front.pid, flush=True)
time.sleep(600)
"""


def test_the_front_does_not_outlive_a_parent_killed_outright(database) -> None:
    script = _ORPHAN_SCRIPT.format(credentials=credentials(free_port()))
    parent = subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        front_pid = int(parent.stdout.readline())  # type: ignore[union-attr]
        assert _alive(front_pid)
        parent.kill()  # SIGKILL: no atexit, no multiprocessing clean-up
        parent.wait()
        deadline = time.monotonic() + 10
        while _alive(front_pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(front_pid), "the front outlived its parent"
    finally:
        parent.kill()


def _alive(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by its parent) counts as gone.
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except FileNotFoundError:
        return False
