"""bench/cores.py: the bench's table says where the stack's processes ran, read from /proc."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from bench.cores import children_of, helpers_of, placement
from connectors.whatsapp.cpu_affinity import pin_process

# A stand-in server that spawns a child as the Rasa server spawns its webhook front (and with
# it, multiprocessing's resource tracker: a child that is not a front).
SERVER_WITH_A_CHILD = (
    "import multiprocessing, time; "
    "multiprocessing.get_context('spawn').Process(target=time.sleep, args=(60,)).start(); "
    "time.sleep(60)"
)


def _front_of(pid: int, timeout: float = 20.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        fronts = helpers_of(pid)
        if fronts:
            (front,) = fronts
            assert len(children_of(pid)) == 2  # the tracker is there, and was left out
            return front
        time.sleep(0.05)
    raise AssertionError("the stand-in server spawned no child")


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two CPUs to tell apart")
def test_the_placement_reads_back_the_server_its_front_and_the_others() -> None:
    lowest, highest = min(os.sched_getaffinity(0)), max(os.sched_getaffinity(0))
    server = subprocess.Popen([sys.executable, "-c", SERVER_WITH_A_CHILD])
    try:
        child = _front_of(server.pid)
        pin_process(server.pid, {lowest})
        pin_process(child, {highest})
        assert placement(server.pid, {"the simulator": child}) == (
            f"the Rasa server on [{lowest}]; its front on [{highest}]; "
            f"the simulator on [{highest}]"
        )
    finally:
        for pid in children_of(server.pid):
            os.kill(pid, signal.SIGKILL)
        server.kill()
        server.wait()
