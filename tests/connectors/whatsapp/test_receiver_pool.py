"""Webhooks recorded in a worker process: the worker builds its own gate from the environment,
records into the same database, answers as the in-process receiver does, and a worker that dies
costs one 503 (Meta redelivers) and nothing else."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest
import sqlalchemy as sa

from compliance.storage import create_engine_from_url
from connectors.whatsapp.cpu_affinity import cpus_of
from connectors.whatsapp.receiver_pool import ReceiverPool, WebhookWorkersFailed, _ready
from connectors.whatsapp.simulator.webhooks import sign
from tests.compliance_env import serve_env

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "whatsapp"
SECRET = "pool-test-secret"
CREDENTIALS = {
    "app_secret": SECRET,
    "verify_token": "verify",
    "access_token": "token",
    "phone_number_id": "106540352242922",
}


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The environment a Rasa server would give its worker: key file, database, settings."""
    return serve_env(tmp_path, monkeypatch)


def inbox_rows(url: str) -> int:
    with create_engine_from_url(url).connect() as conn:
        return conn.execute(sa.text("SELECT count(*) FROM wa_inbox")).scalar_one()


def test_a_worker_process_records_and_answers_like_the_server(database: str) -> None:
    raw = (FIXTURES / "webhooks-sigillo" / "msg-text__sigillo__phone-and-bsuid.json").read_bytes()

    async def scenario() -> tuple:
        pool = ReceiverPool(local=None, processes=1, credentials=CREDENTIALS)  # type: ignore[arg-type]
        try:
            await pool.start()
            worker = await asyncio.get_running_loop().run_in_executor(pool._executor, _ready)
            ok = await pool.receive(raw, sign(SECRET, raw))
            again = await pool.receive(raw, sign(SECRET, raw))
            forged = await pool.receive(raw, sign("another-secret", raw))
            return worker, ok, again, forged
        finally:
            pool.close()

    worker, ok, again, forged = asyncio.run(scenario())
    assert worker != os.getpid()  # the work did leave this process
    assert ok.status == 200 and len(ok.accepted) == 1
    assert ok.accepted[0].subject.startswith("wa_")
    assert again.status == 200 and again.accepted == []  # a redelivery, deduplicated
    assert forged.status == 403 and forged.accepted == []
    assert inbox_rows(database) == 1


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two CPUs to give one away")
def test_the_workers_run_on_the_cpus_they_are_given_fresh_ones_too(database: str) -> None:
    helpers = frozenset({max(os.sched_getaffinity(0))})
    raw = (FIXTURES / "webhooks-sigillo" / "msg-text__sigillo__phone-and-bsuid.json").read_bytes()

    async def scenario() -> list[set[int]]:
        pool = ReceiverPool(local=None, processes=1, credentials=CREDENTIALS, cpus=helpers)  # type: ignore[arg-type]
        loop = asyncio.get_running_loop()
        try:
            await pool.start()
            first = await loop.run_in_executor(pool._executor, _ready)
            placed = [cpus_of(first)]
            os.kill(first, signal.SIGKILL)
            await asyncio.sleep(0.5)
            await pool.receive(raw, sign(SECRET, raw))  # the 503 that brings a fresh pool
            fresh = await loop.run_in_executor(pool._executor, _ready)
            assert fresh != first
            return [*placed, cpus_of(fresh)]
        finally:
            pool.close()

    assert asyncio.run(scenario()) == [helpers, helpers]


def test_a_dead_worker_costs_one_503_then_a_fresh_worker_records(database: str) -> None:
    raw = (FIXTURES / "webhooks-sigillo" / "msg-text__sigillo__phone-and-bsuid.json").read_bytes()

    async def scenario() -> tuple:
        pool = ReceiverPool(local=None, processes=1, credentials=CREDENTIALS)  # type: ignore[arg-type]
        loop = asyncio.get_running_loop()
        try:
            await pool.start()
            victim = await loop.run_in_executor(pool._executor, _ready)
            os.kill(victim, signal.SIGKILL)
            await asyncio.sleep(0.5)
            lost = await pool.receive(raw, sign(SECRET, raw))
            recorded = await pool.receive(raw, sign(SECRET, raw))
            return lost, recorded
        finally:
            pool.close()

    lost, recorded = asyncio.run(scenario())
    assert lost.status == 503
    assert recorded.status == 200 and len(recorded.accepted) == 1
    assert inbox_rows(database) == 1


def test_a_bad_setting_fails_in_the_worker_with_its_name(database: str) -> None:
    async def scenario() -> None:
        pool = ReceiverPool(local=None, processes=1, credentials={**CREDENTIALS, "app_secret": ""})  # type: ignore[arg-type]
        try:
            await pool.start()
        finally:
            pool.close()

    # The server validated the same credentials first and would not have started; the worker
    # still refuses rather than run with a different configuration.
    with pytest.raises(WebhookWorkersFailed, match="webhook worker process failed to start"):
        asyncio.run(scenario())
