"""The turn thread runs coroutines on its own loop and, on Linux, at a lower CPU priority than
the rest of the Rasa server: only its own thread is lowered."""

from __future__ import annotations

import os
import sys
import threading

import pytest

from connectors.whatsapp import turn_thread
from connectors.whatsapp.turn_thread import TurnThread

linux_only = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="Linux gives each thread its own nice value"
)


def own_niceness() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


async def niceness_on_the_turn_loop() -> int:
    return own_niceness()


@linux_only
@pytest.mark.parametrize("niceness", [0, 3])
def test_only_the_turn_thread_is_lowered(niceness):
    before = own_niceness()
    turns = TurnThread(niceness=niceness)
    turns.start()
    try:
        on_the_turn_loop = turns.run(niceness_on_the_turn_loop()).result(10)
    finally:
        turns.stop()
    assert on_the_turn_loop == min(before + niceness, 19)
    assert own_niceness() == before  # the caller's thread (the server's loop) keeps its own


@linux_only
def test_a_thread_already_at_the_lowest_priority_stays_there():
    def lowest_then_lower_again(result: list[int]) -> None:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
        assert turn_thread.lower_this_threads_priority(5)
        result.append(own_niceness())

    result: list[int] = []
    worker = threading.Thread(target=lowest_then_lower_again, args=(result,))
    worker.start()
    worker.join(10)
    assert result == [19]


def test_elsewhere_nothing_changes_and_the_caller_is_told(monkeypatch):
    monkeypatch.setattr(turn_thread.sys, "platform", "darwin")
    before = own_niceness()
    assert turn_thread.lower_this_threads_priority(5) is False
    assert own_niceness() == before
    assert turn_thread.lower_this_threads_priority(0) is True
