"""The channel's periodic housekeeping: it runs on its own, survives a database outage (logging
a code, never the error's text), and stops cleanly; and, wired to the real compliance gate on
SQLite, it expires a stale first opt-in with nobody writing."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from compliance.storage import create_engine_from_url
from connectors.whatsapp.housekeeping import FAILED, Housekeeper

REPO = Path(__file__).resolve().parents[3]


async def run_for(keeper: Housekeeper, seconds: float) -> None:
    keeper.start()
    await asyncio.sleep(seconds)
    await keeper.stop()


def test_ticks_at_start_then_every_interval_then_stops() -> None:
    calls: list[float] = []
    keeper = Housekeeper(lambda: calls.append(time.monotonic()) or 0, 0.05)
    asyncio.run(run_for(keeper, 0.32))
    assert 4 <= len(calls) <= 9, calls
    assert not keeper.running
    count = len(calls)
    time.sleep(0.15)
    assert len(calls) == count  # nothing after stop


def test_a_failing_tick_logs_a_code_and_the_next_one_retries(caplog) -> None:
    outcomes = iter(
        [OperationalError("SELECT", {}, Exception("could not connect to +393331234567")), 2, 0]
    )

    def work() -> int:
        outcome = next(outcomes, 0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    keeper = Housekeeper(work, 0.05)
    with caplog.at_level(logging.INFO, logger="connectors.whatsapp.housekeeping"):
        asyncio.run(run_for(keeper, 0.25))
    text = caplog.text
    assert f"code={FAILED}" in text and "error=OperationalError" in text
    assert "changed=2" in text  # the retry did the work
    assert "393331234567" not in text and "SELECT" not in text  # never the error's message


def test_stop_waits_for_a_tick_in_progress() -> None:
    started, finished = threading.Event(), threading.Event()

    def slow() -> int:
        started.set()
        time.sleep(0.3)
        finished.set()
        return 1

    async def scenario() -> None:
        keeper = Housekeeper(slow, 60)
        keeper.start()
        while not started.is_set():
            await asyncio.sleep(0.01)
        await keeper.stop(timeout=5)
        assert finished.is_set() and not keeper.running

    asyncio.run(scenario())


def test_stop_gives_up_on_a_stuck_tick() -> None:
    release = threading.Event()

    async def scenario() -> float:
        keeper = Housekeeper(lambda: release.wait(5) and 0, 60)
        keeper.start()
        await asyncio.sleep(0.05)
        begin = time.monotonic()
        await keeper.stop(timeout=0.2)
        return time.monotonic() - begin

    try:
        assert asyncio.run(scenario()) < 2
    finally:
        release.set()


@pytest.mark.parametrize("interval", [0, -1, float("nan")])
def test_interval_must_be_positive(interval: float) -> None:
    with pytest.raises(ValueError, match="interval_seconds"):
        Housekeeper(lambda: 0, interval)


# --- wired to the real gate ------------------------------------------------------------------


@pytest.fixture
def gate(tmp_path: Path):  # type: ignore[no-untyped-def]
    from compliance.gate import ComplianceGate
    from tests.compliance_env import compliance_context

    sweep = {"pending_confirmation_sweep_minutes: 15": "pending_confirmation_sweep_minutes: 0.001"}
    context = compliance_context(tmp_path, settings_edits=sweep)
    yield ComplianceGate(context), tmp_path
    context.audit.close()


def test_with_the_gate_a_stale_opt_in_expires_and_an_outage_is_survived(gate) -> None:
    gate, tmp_path = gate
    ledger = gate.context.ledger
    subject = "wa_" + "h" * 32
    ledger.record_external_optin(
        subject, ["service"], at=datetime.now(timezone.utc) - 2 * (ledger.pending_expiry)
    )
    ticks: list[int | None] = []

    async def scenario() -> None:
        keeper = Housekeeper(gate.housekeeping, gate.housekeeping_interval_seconds())
        # The database goes away (a path that cannot be opened): the ticks fail, and the
        # server carries on; when it is back, the next tick does the work.
        real = ledger._engine
        ledger._engine = create_engine_from_url(f"sqlite:///{tmp_path}/missing/dir/x.db")
        for _ in range(2):
            ticks.append(await keeper.tick())
        ledger._engine = real
        ticks.append(await keeper.tick())

    asyncio.run(scenario())
    assert ticks == [None, None, 1]
    assert ledger.state(subject)["service"].value == "expired"
    assert timedelta(seconds=gate.housekeeping_interval_seconds()) < timedelta(seconds=1)
