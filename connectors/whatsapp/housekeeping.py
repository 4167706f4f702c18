"""Periodic upkeep of the compliance layer, run by the channel: no scheduler to install.

Today the upkeep is expiring first opt-ins that were never confirmed in time (the gate's
`housekeeping`, the same code as `python -m compliance consent expire`). A deployment that
forgets the cron job would otherwise keep them pending until the user's next tap.

Three promises, each with a test (tests/connectors/whatsapp/test_housekeeping.py):
- several server instances may run it at once: the gate's work is idempotent (a compare-and-set
  per record), so the instances need no coordination and no receipt is written twice;
- it never takes the server down: a tick that fails (the database briefly away) logs a code
  and the exception's type, never its message, and the next tick tries again;
- it stops cleanly: `stop()` ends the loop, waits a bounded time for a tick in progress.

The work runs on a thread of its own (it is blocking database I/O), one tick at a time, so the
server's event loop keeps answering webhooks.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

logger = logging.getLogger(__name__)

FAILED = "housekeeping_failed"  # the log code an operator alerts on
STOP_TIMEOUT_SECONDS = 10.0


class Housekeeper:
    """Calls `work()` at start and then every `interval_seconds`, until stopped."""

    def __init__(self, work: Callable[[], int], interval_seconds: float) -> None:
        if not interval_seconds > 0:
            raise ValueError("Housekeeper.interval_seconds: must be a positive number")
        self._work = work
        self.interval = float(interval_seconds)
        self._task: asyncio.Task[None] | None = None
        self._stopping: asyncio.Event | None = None
        self._executor: ThreadPoolExecutor | None = None
        self.ticks = 0  # completed ticks, failed or not (for tests and health checks)

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start on the running event loop (a no-op if already running)."""
        if self.running:
            return
        self._stopping = asyncio.Event()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="housekeeping")
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
        """End the loop; a tick in progress gets `timeout` seconds to finish its transaction."""
        task, self._task = self._task, None
        if task is None:
            return
        assert self._stopping is not None
        self._stopping.set()
        try:
            await asyncio.wait_for(task, timeout)
        except asyncio.TimeoutError:
            logger.warning("whatsapp.housekeeping.stop_timeout seconds=%s", timeout)
        if self._executor is not None:
            self._executor.shutdown(wait=False)
            self._executor = None

    async def tick(self) -> int | None:
        """One run of the work: the number of changes, or None if it failed (logged)."""
        loop = asyncio.get_running_loop()
        try:
            changed = await loop.run_in_executor(self._executor, self._work)
        except Exception as exc:  # the server must outlive a database outage
            logger.warning(
                "whatsapp.housekeeping.failed code=%s error=%s", FAILED, type(exc).__name__
            )
            return None
        finally:
            self.ticks += 1
        if changed:
            logger.info("whatsapp.housekeeping.done changed=%d", changed)
        return changed

    async def _run(self) -> None:
        assert self._stopping is not None
        while not self._stopping.is_set():
            await self.tick()
            try:
                await asyncio.wait_for(self._stopping.wait(), self.interval)
            except asyncio.TimeoutError:
                pass
