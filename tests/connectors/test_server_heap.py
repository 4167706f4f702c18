"""Every Sigillo channel freezes the Rasa server's heap once the server has started
(connectors/server_heap.py): a full garbage collection of a loaded server walked 870,000
objects for 415 ms, holding whatever write lock its turn thread had."""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from compliance.gate import ComplianceGate
from connectors.rest import PseudonymousRestInput
from connectors.server_heap import freeze_loaded_heap
from connectors.whatsapp.channel import WhatsAppInput
from connectors.whatsapp.config import WhatsAppConfig
from connectors.whatsapp.inbox import Inbox
from tests.compliance_env import compliance_context

CREDENTIALS = {
    "app_secret": "secret",
    "verify_token": "verify",
    "access_token": "token",
    "phone_number_id": "106540352242922",
}


@pytest.fixture
def unfrozen() -> Iterator[None]:
    yield
    gc.unfreeze()


class Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the collector frees it


def test_what_is_alive_at_the_freeze_is_no_longer_scanned(unfrozen) -> None:
    kept = [Node() for _ in range(200_000)]  # stand-ins for a loaded model's objects
    assert freeze_loaded_heap() >= len(kept)
    start = time.perf_counter()
    gc.collect()
    frozen_collect = time.perf_counter() - start
    gc.unfreeze()
    start = time.perf_counter()
    gc.collect()
    full_collect = time.perf_counter() - start
    assert frozen_collect < full_collect / 2, (frozen_collect, full_collect)
    del kept


def freezes_after_start(blueprint) -> bool:  # type: ignore[no-untyped-def]
    return any(
        listener.event == "after_server_start"
        and listener.listener.__qualname__.startswith("freeze_after_start")
        for listener in blueprint._future_listeners
    )


def test_both_channels_freeze_the_heap_after_the_server_starts(tmp_path: Path) -> None:
    rest = PseudonymousRestInput(b"k" * 32)
    assert freezes_after_start(rest.blueprint(lambda message: None))
    context = compliance_context(tmp_path)
    try:
        gate = ComplianceGate(context)
        config = WhatsAppConfig.from_credentials(CREDENTIALS, {})
        whatsapp = WhatsAppInput(config, gate, Inbox(context.engine, gate))
        assert freezes_after_start(whatsapp.blueprint(lambda message: None))
    finally:
        context.audit.close()
