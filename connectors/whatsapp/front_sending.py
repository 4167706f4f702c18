"""The webhook front's side of sending: the Rasa server's orders, on a thread of their own.

A thread with its own event loop, so that a Graph call (its pacing waits, its retries) never
delays an acknowledgement on the front's loop. Each order is `send_bodies` (sending.py), as the
server would run it: the same Graph client rules, the same audit entries; then a confirmation
back on the doorbell pipe. Mark-read orders are best effort and confirm nothing.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from multiprocessing.connection import Connection
from typing import Any

from connectors.whatsapp.config import WhatsAppConfig
from connectors.whatsapp.doorbell import Doorbell
from connectors.whatsapp.front_orders import READ, SEND, SENT
from connectors.whatsapp.gate import Gate
from connectors.whatsapp.graph_clients import graph_client_for, pacer_for
from connectors.whatsapp.sending import mark_read, send_bodies

logger = logging.getLogger(__name__)

# A confirmation finds the doorbell pipe full only while the server reads nothing: try again.
_FULL_PIPE_PAUSE_SECONDS = 0.005


class FrontSending:
    def __init__(
        self, config: WhatsAppConfig, gate: Gate, orders: Connection, doorbell: Doorbell
    ) -> None:
        """Built before the front says it is ready, so that a pacing setting Redis refuses
        stops the start by name (graph_clients.pacer_for), as it would in the server."""
        self._gate = gate
        self._orders = orders
        self._doorbell = doorbell
        pacer = pacer_for(config, lambda recipient: gate.keyed_hash("pacing", recipient))
        self._graph = graph_client_for(config, pacer)  # its connections open on first use
        self._tasks: set[asyncio.Task[None]] = set()
        self._thread = threading.Thread(
            target=self._run, name="whatsapp-front-sending", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        loop.add_reader(self._orders.fileno(), self._take_orders, loop)
        loop.run_forever()

    def _take_orders(self, loop: asyncio.AbstractEventLoop) -> None:
        try:
            while self._orders.poll():
                order = self._orders.recv()
                task = loop.create_task(self._perform(order))
                self._tasks.add(task)  # a task nobody holds may be collected mid-flight
                task.add_done_callback(self._tasks.discard)
        except (EOFError, OSError):  # the server is gone; the front follows within a second
            loop.remove_reader(self._orders.fileno())

    async def _perform(self, order: tuple[Any, ...]) -> None:
        if order[0] == READ:
            await mark_read(self._graph, order[1])
            return
        if order[0] != SEND:
            logger.error("whatsapp.webhook_front.unknown_order kind=%s", order[0])
            return
        _, order_id, subject, bodies, utter_action = order
        error = None
        try:
            await send_bodies(self._graph, self._gate, subject, bodies, utter_action)
        except Exception as exc:  # the server raises it in the turn, as a local send would
            error = type(exc).__name__
            logger.error("whatsapp.send.error subject=%s error=%s", subject, error)
        while not self._doorbell.answer((SENT, order_id, error)):
            await asyncio.sleep(_FULL_PIPE_PAUSE_SECONDS)
