"""Where the webhook's recording work runs: in worker processes, or on threads of this process.

Why processes: recording a webhook (signature, parsing, the identity vault, sealing, the inbox,
each status's audit entry) is a few milliseconds of Python, and there are four webhooks per bot
reply (the message, then sent, delivered and read). On threads of the Rasa server they compete
with the turns for the one interpreter lock, so a busy bot delayed Meta's acknowledgements and
the webhooks slowed the bot. A worker process has its own interpreter: the server's event loop
only hands it the raw bytes and gets back which messages were recorded. A worker builds its own
compliance gate from the environment, exactly as the channel does (`from_credentials`), so it
shares nothing with the server but the database, like a second server instance would.

`processes = 0` keeps the work on threads of this process (tests that inject a gate use it).
A worker that dies breaks the pool: that webhook is answered 503 (Meta redelivers, the inbox
deduplicates) and the next one gets a fresh pool.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
from collections.abc import Mapping
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from connectors.whatsapp.cpu_affinity import pin_this_process
from connectors.whatsapp.webhook_receiver import Outcome, WebhookReceiver

logger = logging.getLogger(__name__)

_THREADS = 4

# The worker process's receiver, built once by its initializer.
_worker_receiver: WebhookReceiver | None = None


def _start_worker(
    credentials: Mapping[str, Any] | None, log_level: int, cpus: frozenset[int] | None
) -> None:
    global _worker_receiver
    pin_this_process(cpus)  # off the server's core, which it inherited
    from compliance.gate import ComplianceGate
    from connectors.whatsapp.config import WhatsAppConfig
    from connectors.whatsapp.inbox import Inbox

    logging.basicConfig(level=log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    config = WhatsAppConfig.from_credentials(credentials, os.environ)
    gate = ComplianceGate.from_environment(os.environ)
    _worker_receiver = WebhookReceiver(config, gate, Inbox(gate.engine, gate))


def _receive_in_worker(raw: bytes, signature_header: str | None) -> Outcome:
    assert _worker_receiver is not None, "worker started without its initializer"
    return _worker_receiver.receive(raw, signature_header)


def _ready() -> int:
    return os.getpid()


class WebhookWorkersFailed(RuntimeError):
    """The webhook worker processes could not start; the server must not run without them."""


class ReceiverPool:
    """`await pool.receive(raw, header)` -> Outcome, off the event loop."""

    def __init__(
        self,
        local: WebhookReceiver,
        processes: int,
        credentials: Mapping[str, Any] | None = None,
        cpus: frozenset[int] | None = None,
    ) -> None:
        """`cpus`: where the worker processes run (cpu_affinity.py); None: where the server
        does."""
        self._local = local
        self._processes = processes
        self._credentials = dict(credentials or {})
        self._cpus = cpus
        self._executor: Executor = self._new_executor()

    @property
    def in_processes(self) -> bool:
        return self._processes > 0

    def _new_executor(self) -> Executor:
        if not self.in_processes:
            return ThreadPoolExecutor(max_workers=_THREADS, thread_name_prefix="whatsapp-webhook")
        # spawn, not fork: the Rasa server has threads and TensorFlow state a fork would copy.
        return ProcessPoolExecutor(
            max_workers=self._processes,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(self._credentials, logging.getLogger().getEffectiveLevel(), self._cpus),
        )

    async def start(self) -> None:
        """Start the workers now, so the first webhook does not wait for an interpreter."""
        if self.in_processes:
            loop = asyncio.get_running_loop()
            try:
                await asyncio.gather(
                    *(loop.run_in_executor(self._executor, _ready) for _ in range(self._processes))
                )
            except BrokenProcessPool:
                # The worker logged why (a setting, by name; the database); it cannot send it.
                raise WebhookWorkersFailed(
                    "the WhatsApp webhook worker process failed to start: see its error above"
                ) from None

    async def receive(self, raw: bytes, signature_header: str | None) -> Outcome:
        work = _receive_in_worker if self.in_processes else self._local.receive
        try:
            return await asyncio.get_running_loop().run_in_executor(
                self._executor, work, raw, signature_header
            )
        except BrokenProcessPool:
            logger.error("whatsapp.webhook.worker_died")
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = self._new_executor()
            return Outcome(503, "webhook worker restarted, retry later")

    def close(self) -> None:
        # Not waiting: a worker mid-request finishes or dies with the server's process group;
        # whatever it had not acknowledged, Meta redelivers.
        self._executor.shutdown(wait=False, cancel_futures=True)
