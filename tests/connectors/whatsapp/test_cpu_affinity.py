"""cpu_affinity.py: the Rasa server alone on one of the CPUs it may use, helpers on the rest."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from connectors.whatsapp.cpu_affinity import (
    CoreSplit,
    cpus_of,
    pin_process,
    pin_this_process,
    split,
)

TWO_CPUS = pytest.mark.skipif(
    len(os.sched_getaffinity(0)) < 2, reason="needs two CPUs: one is moved away from the other"
)
# A process with a second thread, started before it is pinned.
THREADED = "import threading, time; threading.Thread(target=time.sleep, args=(60,)).start(); " \
    "print('up', flush=True); time.sleep(60)"


@pytest.mark.parametrize(
    ("cpus", "expected"),
    [
        ({0}, None),
        ({0, 1}, CoreSplit(frozenset({0}), frozenset({1}))),
        ({3, 1, 2}, CoreSplit(frozenset({1}), frozenset({2, 3}))),
        ({5, 7}, CoreSplit(frozenset({5}), frozenset({7}))),
    ],
    ids=["one CPU: nothing to split", "two", "the lowest for the server", "a cpuset's own"],
)
def test_the_split(cpus: set[int], expected: CoreSplit | None) -> None:
    assert split(cpus) == expected


def test_the_split_describes_itself_for_the_log() -> None:
    assert split({0, 1, 2}).describe() == "server_cpu=0 helper_cpus=1,2"  # type: ignore[union-attr]


@TWO_CPUS
def test_every_thread_of_a_process_is_pinned() -> None:
    target = {max(os.sched_getaffinity(0))}
    child = subprocess.Popen([sys.executable, "-c", THREADED], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline() == "up\n"
        assert len(os.listdir(f"/proc/{child.pid}/task")) == 2
        assert cpus_of(child.pid) == os.sched_getaffinity(0)  # inherited: everywhere
        pin_process(child.pid, target)
        assert cpus_of(child.pid) == target  # the union over its threads: none left behind
    finally:
        child.kill()
        child.wait()


def test_a_refused_pinning_warns_and_changes_nothing(caplog: pytest.LogCaptureFixture) -> None:
    """A CPU the system does not have (or a cpuset without it): the helper runs where it was."""
    before = cpus_of(os.getpid())
    pin_this_process({4095})
    assert cpus_of(os.getpid()) == before
    assert "whatsapp.cores.not_pinned" in caplog.text and "reason=EINVAL" in caplog.text
