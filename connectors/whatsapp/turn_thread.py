"""A thread with its own event loop for the Rasa turns of the WhatsApp channel.

Rasa runs NLU and the policies inside the coroutine of a turn, on the CPU, without yielding; on
the server's event loop that would hold every webhook request behind the turns in progress, and
a busy bot would answer Meta in seconds (measured: p99 5.9 s during a burst). Turns therefore run
on this loop, in this thread; the server's loop only records webhooks and answers them. Rasa
creates its HTTP sessions per call and our stores are thread-safe, so a turn runs the same here.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")


class TurnThread:
    def __init__(self, name: str = "whatsapp-turns") -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        if not self._thread.is_alive():
            self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def call(self, function: Callable[..., Any], *args: Any) -> None:
        """Run `function(*args)` on the turn loop, soon (from any thread)."""
        self.loop.call_soon_threadsafe(function, *args)

    def run(self, coroutine: Coroutine[Any, Any, T]) -> Future[T]:
        """Schedule `coroutine` on the turn loop; the returned future completes with it."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop)

    async def run_here(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Await, from another event loop, a coroutine run on the turn loop."""
        return await asyncio.wrap_future(self.run(coroutine))

    def stop(self) -> None:
        if self._thread.is_alive():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=10)
