"""The Rasa server's side of the webhook front (webhook_front.py): start it, hear it, restart it.

`start()` spawns the front and returns once it listens, or raises WebhookWorkersFailed with the
front's own reason (a setting by name, a port in use): the server must not run half-configured.
A thread then waits on the doorbell pipe and hands each batch of recorded messages to
`on_recorded` (the channel submits them to the turn queue), and each send confirmation to
`orders` (front_orders.py: the server's replies go out through the front). If the front dies,
the pipe ends: the thread logs it, fails the orders in flight over to local sends, and starts a
new front; what the dead one had recorded is in the inbox, where the turn queue's sweep finds it,
and what it had not acknowledged Meta redelivers.

A front that is alive but wedged (its loop stuck, the process stopped) would answer nothing and
never end the pipe. Its acknowledging loop says it is alive every second (webhook_front.py);
one silent for `stall_seconds` is killed, and its pipe's end then replaces it as a dead one's.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Mapping
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from connectors.whatsapp.front_orders import SENT, FrontOrders
from connectors.whatsapp.receiver_pool import WebhookWorkersFailed
from connectors.whatsapp.sending import Sender
from connectors.whatsapp.webhook_front import ALIVE, HEARTBEAT_SECONDS, run_front

logger = logging.getLogger(__name__)

OnRecorded = Callable[[list[tuple[int, str]]], None]

# spawn, not fork: the Rasa server has threads and TensorFlow state a fork would copy.
_CONTEXT = multiprocessing.get_context("spawn")
# Fifteen missed heartbeats: far beyond any pause of a loop that only awaits sockets (its
# collector's, about 40 ms, is frozen away), and short of Meta giving up on its retries.
DEFAULT_STALL_SECONDS = 15 * HEARTBEAT_SECONDS


class WebhookFront:
    def __init__(
        self,
        credentials: Mapping[str, Any] | None,
        on_recorded: OnRecorded,
        *,
        start_timeout: float = 120.0,
        restart_pause: float = 5.0,
        local_sender: Callable[[], Sender] | None = None,
        confirm_within: Callable[[int], float] | None = None,
        stall_seconds: float = DEFAULT_STALL_SECONDS,
        cpus: frozenset[int] | None = None,
    ) -> None:
        """`local_sender`: what sends while there is no front; `confirm_within`: how long a
        send order may go unconfirmed (front_orders.py); `stall_seconds`: how long the front's
        loop may be silent before it is killed and replaced; `cpus`: where every front runs,
        restarted ones too (cpu_affinity.py), None: where the server does."""
        if not stall_seconds > HEARTBEAT_SECONDS:
            raise ValueError("stall_seconds must be longer than the front's heartbeat")
        self._credentials = dict(credentials or {})
        self.orders = FrontOrders(local_sender, confirm_within)
        self._on_recorded = on_recorded
        self._start_timeout = start_timeout
        self._restart_pause = restart_pause
        self._stall_seconds = stall_seconds
        self._cpus = cpus
        self._stopping = threading.Event()
        self._process: BaseProcess | None = None
        self._doorbell: Connection | None = None
        self._listener: threading.Thread | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    async def start(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self._launch)
        self._listener = threading.Thread(
            target=self._listen, name="whatsapp-front-doorbell", daemon=True
        )
        self._listener.start()

    def stop(self) -> None:
        self._stopping.set()
        self.orders.detach()
        self._end_process()  # ends the pipe, which ends the listener
        if self._listener is not None:
            self._listener.join(timeout=5)
        if self._doorbell is not None:
            self._doorbell.close()

    def _launch(self) -> None:
        doorbell, child_end = _CONTEXT.Pipe(duplex=False)
        orders_end, orders = _CONTEXT.Pipe(duplex=False)
        process = _CONTEXT.Process(
            target=run_front,
            args=(
                self._credentials,
                child_end,
                orders_end,
                logging.getLogger().getEffectiveLevel(),
                os.getpid(),
                self._cpus,
            ),
            name="whatsapp-webhook-front",
            daemon=True,
        )
        process.start()
        child_end.close()  # so that the pipe ends when the child does
        orders_end.close()
        reason = _first_word(doorbell, process, self._start_timeout)
        if reason is not None:
            doorbell.close()
            orders.close()
            raise WebhookWorkersFailed(f"the WhatsApp webhook front could not start: {reason}")
        old = self._doorbell
        self._process, self._doorbell = process, doorbell
        self.orders.attach(orders)
        if old is not None:
            old.close()

    def _listen(self) -> None:
        heard = time.monotonic()  # when the front's loop last said anything
        while not self._stopping.is_set():
            assert self._doorbell is not None
            try:
                if not self._doorbell.poll(HEARTBEAT_SECONDS):
                    silent = time.monotonic() - heard
                    if silent > self._stall_seconds:
                        self._kill_stalled(silent)  # its pipe ends: replaced below, as the dead
                        heard = time.monotonic()
                    continue
                recorded = self._doorbell.recv()
            except (EOFError, OSError):
                if self._stopping.is_set():
                    return
                exit_code = self._process.exitcode if self._process is not None else None
                logger.error("whatsapp.webhook_front.died exit_code=%s", exit_code)
                self.orders.detach()
                self._relaunch_until_up()
                heard = time.monotonic()
                continue
            if isinstance(recorded, tuple) and recorded[0] == SENT:
                # From the front's sending thread: no word on its acknowledging loop.
                self.orders.settle(recorded[1], recorded[2])
                continue
            heard = time.monotonic()
            if isinstance(recorded, tuple) and recorded[0] == ALIVE:
                continue
            try:
                self._on_recorded(recorded)
            except Exception as exc:  # the sweep will find them: never lose the listener
                logger.error("whatsapp.webhook_front.submit_failed error=%s", type(exc).__name__)

    def _kill_stalled(self, silent: float) -> None:
        """Kill a front whose loop has been silent too long (stopped, wedged): SIGKILL, as a
        stopped process acts on nothing else. Its pipe then ends, and the listener replaces it
        as it replaces a front that died."""
        logger.error("whatsapp.webhook_front.stalled silent_seconds=%.0f", silent)
        process = self._process
        if process is not None and process.is_alive():
            process.kill()
            process.join(timeout=5)

    def _relaunch_until_up(self) -> None:
        self._end_process()
        while not self._stopping.is_set():
            try:
                self._launch()
            except WebhookWorkersFailed as exc:
                logger.error("whatsapp.webhook_front.restart_failed reason=%s", exc)
                self._stopping.wait(self._restart_pause)
            else:
                logger.info("whatsapp.webhook_front.restarted")
                return

    def _end_process(self) -> None:
        process = self._process
        if process is None or not process.is_alive():
            return
        process.terminate()  # nothing to flush: what it acknowledged is committed
        process.join(timeout=5)
        if process.is_alive():
            process.kill()
            process.join(timeout=5)


def _first_word(doorbell: Connection, process: BaseProcess, timeout: float) -> str | None:
    """None once the front says it listens; otherwise why it will not."""
    if not doorbell.poll(timeout):
        process.kill()
        return f"it did not answer within {timeout:g} s"
    try:
        kind, detail = doorbell.recv()
    except (EOFError, OSError):
        process.join(timeout=5)
        return f"it exited with code {process.exitcode} while starting: see its error above"
    if kind != "ready":
        process.join(timeout=5)
        return str(detail)
    return None
