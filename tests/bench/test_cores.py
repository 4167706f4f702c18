"""bench/cores.py: the Rasa server alone on one core, every other process on the rest."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from bench.cores import children_of, give_server_a_core, pin_process, split

# A stand-in server that starts a child of its own, as the Rasa server starts its webhook front.
SERVER_WITH_A_CHILD = (
    "import subprocess, sys, time; "
    "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
    "time.sleep(60)"
)


@pytest.mark.parametrize(
    ("cpus", "expected"),
    [({0}, None), ({0, 1}, ({0}, {1})), ({3, 1, 2}, ({1}, {2, 3}))],
    ids=["one CPU", "two", "the lowest for the server"],
)
def test_the_split(cpus: set[int], expected: tuple[set[int], set[int]] | None) -> None:
    assert split(cpus) == expected


def _child_of(pid: int, timeout: float = 10.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        children = children_of(pid)
        if children:
            (child,) = children
            return child
        time.sleep(0.05)
    raise AssertionError("the stand-in server started no child")


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two CPUs to split")
def test_the_server_and_its_children_are_pinned_apart() -> None:
    ours = os.sched_getaffinity(0)
    halves = split(ours)
    assert halves is not None
    server_cpus, rest = halves
    server = subprocess.Popen([sys.executable, "-c", SERVER_WITH_A_CHILD])
    try:
        child = _child_of(server.pid)
        described = give_server_a_core(server.pid, [])
        assert os.sched_getaffinity(server.pid) == server_cpus
        assert os.sched_getaffinity(child) == rest
        assert os.sched_getaffinity(0) == rest  # the load generator stays off the server's core
        assert f"CPU {min(server_cpus)}" in described
    finally:
        pin_process(os.getpid(), ours)  # every thread of this test run, as it was
        for pid in children_of(server.pid):
            os.kill(pid, signal.SIGKILL)
        server.kill()
        server.wait()
