"""Our own processes' event loop: uvloop where installed, asyncio's own when declined."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from connectors.event_loop import NO_UVLOOP_VARIABLE, use_fast_event_loop


@pytest.fixture(autouse=True)
def restore_policy() -> Iterator[None]:
    before = asyncio.get_event_loop_policy()
    yield
    asyncio.set_event_loop_policy(before)


def test_new_loops_are_uvloops(monkeypatch: pytest.MonkeyPatch) -> None:
    uvloop = pytest.importorskip("uvloop", reason="uvloop is not installed on this platform")
    monkeypatch.delenv(NO_UVLOOP_VARIABLE, raising=False)
    assert use_fast_event_loop() == "uvloop"
    loop = asyncio.new_event_loop()
    try:
        assert isinstance(loop, uvloop.Loop)
    finally:
        loop.close()


def test_declined_it_leaves_asyncios_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(NO_UVLOOP_VARIABLE, "1")
    policy = asyncio.get_event_loop_policy()
    assert use_fast_event_loop() == "asyncio"
    assert asyncio.get_event_loop_policy() is policy
