"""The webhook front: Meta's callback served by a process of its own, beside the Rasa server.

Why a process with its own port: in the Rasa server, every webhook request waits for that
server's event loop, which shares one interpreter lock with the turn thread's NLU and policies.
Measured in session 7 with the recording already in a worker process: acknowledgement p99 610 ms
during a burst, the worker idle most of the time. Here the acknowledgement never meets a turn:
this process verifies, records into the inbox and answers, on an event loop that does nothing
else, and tells the Rasa server which messages to run through a pipe. The pipe is only a
doorbell: the inbox is the record, and the turn queue's sweep finds whatever a lost doorbell
missed (after a crash of either side, say, or a ring dropped because the server was not
reading: doorbell.py). On a thread and event loop of their own, it also performs the server's
send orders (front_sending.py): the replies' and blue ticks' Graph calls and their audit entries,
so that their CPU is spent on this process's core rather than under the turns' interpreter lock.
Never on the acknowledging loop: marking each message read from there was tried (session 7),
and its Graph calls pushed the acknowledgements' p99 to 341 ms in a burst.

Routes, at the same paths as the Rasa server's channel so that a proxy can send Meta's callback
path here and everything else to Rasa:
    GET  /webhooks/whatsapp/          health
    GET  /webhooks/whatsapp/webhook   Meta's verification handshake
    POST /webhooks/whatsapp/webhook   signed updates: 200 once recorded

This module is the child's side; webhook_front_process.py starts, watches and stops it.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import signal
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from typing import Any

from aiohttp import web

from connectors.event_loop import use_fast_event_loop
from connectors.server_heap import freeze_loaded_heap
from connectors.whatsapp.cpu_affinity import pin_this_process
from connectors.whatsapp.doorbell import Doorbell
from connectors.whatsapp.front_sending import FrontSending
from connectors.whatsapp.signature import SIGNATURE_HEADER, check_verify_token
from connectors.whatsapp.webhook_receiver import WebhookReceiver

logger = logging.getLogger(__name__)

WEBHOOK_PATH = "/webhooks/whatsapp/webhook"
HEALTH_PATH = "/webhooks/whatsapp/"
# Recording is database work (commits release the interpreter lock while they wait on disk),
# so a few threads overlap one webhook's fsync with the next one's parsing.
_RECORDING_THREADS = 4
_PARENT_CHECK_SECONDS = 1.0
# How often the acknowledging loop says it is alive (the server restarts a front that falls
# silent: webhook_front_process.py); from the loop itself, so a wedged loop goes quiet.
HEARTBEAT_SECONDS = _PARENT_CHECK_SECONDS
ALIVE = "alive"
# A restarted server's new front may find the old front still closing (it notices its parent's
# death within _PARENT_CHECK_SECONDS): wait that long for the port before giving up.
_BIND_PATIENCE_SECONDS = 3 * _PARENT_CHECK_SECONDS

Notify = Callable[[list[tuple[int, str]]], None]


def front_app(receiver: WebhookReceiver, verify_token: Any, notify: Notify) -> web.Application:
    """The front's routes; `notify` gets the (seq, subject) of each newly recorded message."""
    executor = ThreadPoolExecutor(_RECORDING_THREADS, thread_name_prefix="whatsapp-front")
    # One byte over the cap, so that the receiver (not aiohttp) answers a body that is too large.
    app = web.Application(client_max_size=receiver.max_body_bytes + 1)

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def verify(request: web.Request) -> web.Response:
        challenge = check_verify_token(request.query, verify_token)
        if challenge is None:
            return web.Response(text="verification failed", status=403)
        return web.Response(text=challenge)

    async def receive(request: web.Request) -> web.Response:
        try:
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge:
            outcome = receiver.too_large()
        else:
            outcome = await asyncio.get_running_loop().run_in_executor(
                executor, receiver.receive, raw, request.headers.get(SIGNATURE_HEADER)
            )
        if outcome.accepted:
            notify([(recorded.seq, recorded.subject) for recorded in outcome.accepted])
        status, body = outcome.http_answer()
        return web.json_response(body, status=status)

    async def close_executor(app: web.Application) -> None:
        executor.shutdown(wait=False, cancel_futures=True)

    app.router.add_get(HEALTH_PATH, health)
    app.router.add_get(WEBHOOK_PATH, verify)
    app.router.add_post(WEBHOOK_PATH, receive)
    app.on_cleanup.append(close_executor)
    return app


def run_front(
    credentials: Mapping[str, Any] | None,
    doorbell: Connection,
    orders: Connection,
    log_level: int,
    parent_pid: int,
    cpus: frozenset[int] | None = None,
) -> None:
    """The child process's entry point (spawned). Sends ("ready", pid) once listening, or
    ("failed", reason) and returns; then one list of (seq, subject) per webhook that recorded
    something new, a confirmation per send order read from `orders` (front_sending.py), and
    (ALIVE,) every HEARTBEAT_SECONDS. Ends when its parent does. `cpus`: where it runs
    (cpu_affinity.py), instead of the server's core it inherits."""
    pin_this_process(cpus)  # first: every thread it starts inherits the mask
    # Ctrl-C reaches the whole process group: the Rasa server stops this process itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.basicConfig(level=log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # Before any loop is made: the sending thread makes its own as soon as it starts.
    use_fast_event_loop()
    try:
        from compliance.gate import ComplianceGate
        from connectors.whatsapp.config import WhatsAppConfig
        from connectors.whatsapp.inbox import Inbox

        config = WhatsAppConfig.from_credentials(credentials, os.environ)
        gate = ComplianceGate.from_environment(os.environ)
        receiver = WebhookReceiver(config, gate, Inbox(gate.engine, gate))
        ringer = Doorbell(doorbell)
        sending = FrontSending(config, gate, orders, ringer)
    except Exception as exc:  # our errors name the setting and never hold a value
        doorbell.send(("failed", f"{type(exc).__name__}: {exc}"))
        return
    app = front_app(receiver, config.verify_token, ringer.ring)
    sending.start()
    # What the front keeps for its life, out of the collector's reach: a full collection of it
    # took about 40 ms, every acknowledgement in flight waiting (connectors/server_heap.py).
    freeze_loaded_heap()
    asyncio.run(
        _serve(app, config.webhook_host, config.webhook_port, doorbell, ringer, parent_pid)
    )


async def _serve(
    app: web.Application,
    host: str,
    port: int | None,
    doorbell: Connection,
    ringer: Doorbell,
    parent_pid: int,
) -> None:
    # No access log: the verification handshake's query string carries the verify token.
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    deadline = time.monotonic() + _BIND_PATIENCE_SECONDS
    while True:
        try:
            await web.TCPSite(runner, host, port, backlog=1024, reuse_address=True).start()
            break
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
                continue
            doorbell.send(("failed", f"cannot listen on {host}:{port}: {exc.strerror or exc}"))
            await runner.cleanup()
            return
    doorbell.send(("ready", os.getpid()))
    logger.info("whatsapp.webhook_front.listening port=%s", port)
    try:
        # A parent killed outright (SIGKILL) cannot stop its children: notice it here.
        while os.getppid() == parent_pid:
            ringer.answer((ALIVE,))  # a full pipe drops it: the server is not reading anyway
            await asyncio.sleep(HEARTBEAT_SECONDS)
    finally:
        await runner.cleanup()
