"""The server's side of sending through the webhook front: an order per send, awaited until the
front confirms it; in-flight orders of a front that ends, and sends while there is none, go out
from here instead; mark-read orders never wait."""

from __future__ import annotations

import asyncio
import threading
import time
from multiprocessing import Pipe
from typing import Any

import pytest

from connectors.whatsapp.front_orders import (
    READ,
    SEND,
    FrontOrders,
    FrontSendFailed,
    FrontSendLost,
)

BODY = {"messaging_product": "whatsapp", "to": "447700900001", "type": "text"}


class LocalSends:
    """The sender used without a front: records what it was asked to send."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, list[dict[str, Any]], str | None]] = []
        self.read: list[str] = []

    async def send_all(self, subject: str, bodies: list[dict[str, Any]], utter: str | None) -> None:
        self.sent.append((subject, bodies, utter))

    def mark_read(self, message_id: str) -> None:
        self.read.append(message_id)


def front_that(
    answer: Any, confirm_within: Any = None
) -> tuple[FrontOrders, LocalSends, list[tuple[Any, ...]]]:
    """FrontOrders on a real pipe, read by a thread standing in for the front: `answer(orders,
    order)` says what it does with each order."""
    local = LocalSends()
    orders = FrontOrders(lambda: local, confirm_within)
    reader, writer = Pipe(duplex=False)
    orders.attach(writer)
    seen: list[tuple[Any, ...]] = []

    def front() -> None:
        while True:
            try:
                order = reader.recv()
            except (EOFError, OSError):
                return
            seen.append(order)
            answer(orders, order)

    threading.Thread(target=front, daemon=True).start()
    return orders, local, seen


def test_a_send_waits_for_the_fronts_confirmation() -> None:
    confirmed = threading.Event()

    def confirm_later(orders: FrontOrders, order: tuple[Any, ...]) -> None:
        confirmed.wait(5)
        orders.settle(order[1], None)

    orders, local, seen = front_that(confirm_later)

    async def scenario() -> None:
        sending = asyncio.ensure_future(orders.send_all("wa_subject", [BODY], "utter_greet"))
        await asyncio.sleep(0.2)
        assert not sending.done(), "returned before the front confirmed"
        confirmed.set()
        await asyncio.wait_for(sending, 5)

    asyncio.run(scenario())
    assert seen == [(SEND, 1, "wa_subject", [BODY], "utter_greet")]
    assert local.sent == []


def test_an_error_the_front_reports_is_raised_in_the_turn() -> None:
    orders, _local, _seen = front_that(lambda o, order: o.settle(order[1], "RuntimeError"))
    with pytest.raises(FrontSendFailed, match="RuntimeError"):
        asyncio.run(orders.send_all("wa_subject", [BODY], None))


def test_orders_in_flight_when_the_front_ends_are_sent_from_here() -> None:
    orders, local, seen = front_that(lambda o, order: None)  # a front that never confirms

    async def scenario() -> None:
        sending = asyncio.ensure_future(orders.send_all("wa_subject", [BODY], "utter_greet"))
        await asyncio.sleep(0.2)
        orders.detach()  # the listener saw the front die
        await asyncio.wait_for(sending, 5)

    asyncio.run(scenario())
    assert len(seen) == 1
    assert local.sent == [("wa_subject", [BODY], "utter_greet")]


def test_an_order_a_wedged_front_never_confirms_is_sent_from_here_in_time() -> None:
    limits: list[int] = []

    def confirm_within(bodies: int) -> float:
        limits.append(bodies)
        return 0.3

    orders, local, seen = front_that(lambda o, order: None, confirm_within)
    started = time.monotonic()
    asyncio.run(orders.send_all("wa_subject", [BODY, BODY], "utter_greet"))
    assert 0.3 <= time.monotonic() - started < 5
    assert limits == [2] and len(seen) == 1
    assert local.sent == [("wa_subject", [BODY, BODY], "utter_greet")]
    orders.settle(1, None)  # a confirmation arriving after all finds nothing to settle


def test_without_a_front_sends_and_blue_ticks_are_local() -> None:
    local = LocalSends()
    orders = FrontOrders(lambda: local)
    asyncio.run(orders.send_all("wa_subject", [BODY], None))
    orders.mark_read("wamid.1")
    assert local.sent == [("wa_subject", [BODY], None)] and local.read == ["wamid.1"]

    alone = FrontOrders()
    with pytest.raises(FrontSendLost):
        asyncio.run(alone.send_all("wa_subject", [BODY], None))


def test_a_blue_tick_is_an_order_that_waits_for_nothing() -> None:
    orders, local, seen = front_that(lambda o, order: None)
    orders.mark_read("wamid.1")
    for _ in range(50):
        if seen:
            break
        threading.Event().wait(0.02)
    assert seen == [(READ, "wamid.1")] and local.read == []
