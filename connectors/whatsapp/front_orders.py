"""The Rasa server's side of sending through the webhook front: orders out, confirmations back.

A turn's `send_all` writes an order on the orders pipe and awaits the front's confirmation, which
comes back on the doorbell pipe (the front's listener thread calls `settle`). The turn therefore
still waits for each message to be sent, as with a local send, but the sending's CPU (the Graph
call, its pacing and retries, the outbound audit entry) is spent in the front's process, on the
other core (sending.py says why).

If the front ends with orders in flight, nobody knows whether Meta got them: they are sent
again from here, as the Graph client retries a lost answer (a rare duplicate rather than a lost
reply: graph_client.py). The same for an order not confirmed within `confirm_within` seconds
(longer than the Graph client's retries can take), so that a front alive but wedged cannot hold
a turn forever. While there is no front (starting, restarting), sends are local.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from connectors.whatsapp.sending import Sender

logger = logging.getLogger(__name__)

SEND = "send"
READ = "read"
SENT = "sent"


class FrontSendLost(Exception):
    """The front ended before confirming an order."""


class FrontSendFailed(Exception):
    """The front's send raised something other than a Graph error (which it audits itself)."""

    def __init__(self, error: str) -> None:
        super().__init__(f"the webhook front's send failed: {error}")
        self.error = error


class FrontOrders:
    """A `Sender` whose work the front does; `local()` builds the sender used without one."""

    def __init__(
        self,
        local: Callable[[], Sender] | None = None,
        confirm_within: Callable[[int], float] | None = None,
    ) -> None:
        """`confirm_within(n)`: how long an order of n bodies may go unconfirmed (None: no
        limit)."""
        self._local = local
        self._confirm_within = confirm_within
        self._lock = threading.Lock()  # the turn loop and the server's loop both send
        self._connection: Connection | None = None
        self._pending: dict[int, asyncio.Future[str | None]] = {}
        self._ids = itertools.count(1)

    def attach(self, connection: Connection) -> None:
        with self._lock:
            self._connection = connection

    def detach(self) -> None:
        """The front ended: local sends from now on, and in-flight orders fail over to them."""
        with self._lock:
            connection, self._connection = self._connection, None
            pending, self._pending = self._pending, {}
        if connection is not None:
            connection.close()
        for future in pending.values():
            future.get_loop().call_soon_threadsafe(_resolve, future, FrontSendLost())

    def settle(self, order_id: int, error: str | None) -> None:
        """The front's confirmation (from the listener thread)."""
        with self._lock:
            future = self._pending.pop(order_id, None)
        if future is not None:
            future.get_loop().call_soon_threadsafe(_resolve, future, error)

    async def send_all(
        self, subject: str, bodies: list[dict[str, Any]], utter_action: str | None
    ) -> None:
        future: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
        order_id = self._order(future, SEND, subject, bodies, utter_action)
        if order_id is None:
            await self._send_here(subject, bodies, utter_action)
            return
        limit = None if self._confirm_within is None else self._confirm_within(len(bodies))
        try:
            error = await asyncio.wait_for(future, limit)
        except (FrontSendLost, asyncio.TimeoutError) as exc:
            with self._lock:
                self._pending.pop(order_id, None)
            logger.warning(
                "whatsapp.send.front_%s subject=%s (sending from here)",
                "lost" if isinstance(exc, FrontSendLost) else "unconfirmed",
                subject,
            )
            await self._send_here(subject, bodies, utter_action)
            return
        if error is not None:
            raise FrontSendFailed(error)

    def mark_read(self, message_id: str) -> None:
        with self._lock:
            sent = self._write((READ, message_id))
        if not sent and self._local is not None:
            self._local().mark_read(message_id)

    def _order(self, future: asyncio.Future[str | None], kind: str, *fields: Any) -> int | None:
        """Write an order awaited through `future`; its id, or None when no front took it."""
        with self._lock:
            order_id = next(self._ids)
            self._pending[order_id] = future
            if self._write((kind, order_id, *fields)):
                return order_id
            del self._pending[order_id]
            return None

    def _write(self, message: tuple[Any, ...]) -> bool:
        """To the front, if there is one (the caller holds the lock)."""
        if self._connection is None:
            return False
        try:
            self._connection.send(message)
        except OSError:  # the front is ending; its listener will detach it
            return False
        return True

    async def _send_here(
        self, subject: str, bodies: list[dict[str, Any]], utter_action: str | None
    ) -> None:
        if self._local is None:
            raise FrontSendLost("no webhook front to send through, and no local sender")
        await self._local().send_all(subject, bodies, utter_action)


def _resolve(future: asyncio.Future[str | None], outcome: str | None | Exception) -> None:
    if future.done():
        return  # the turn was cancelled meanwhile
    if isinstance(outcome, Exception):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)
